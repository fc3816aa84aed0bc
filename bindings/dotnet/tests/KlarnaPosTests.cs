// The KlarnaPos assembly against the simulator: the payment flow, UTF-8 both ways, every
// exception class with its detail, timeout, cancel from another thread, and agreement with
// the C header.
//
//   mono KlarnaPosTests.exe REPOSITORY_ROOT PATH/TO/klarna-pos-sim
//
// Prints "ok - <test>" or "not ok - <test>: <why>" per test, then "N passed, M failed"; exits 1
// when a test failed.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using KlarnaPos;

namespace KlarnaPosTests
{
    internal static class Check
    {
        internal static void True(bool condition, string what)
        {
            if (!condition)
                throw new Exception("expected: " + what);
        }

        internal static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                throw new Exception(what + ": expected <" + expected + ">, got <" + actual + ">");
        }

        internal static T Throws<T>(Action action, string what) where T : Exception
        {
            try
            {
                action();
            }
            catch (T e)
            {
                if (e.GetType() != typeof(T))
                    throw new Exception(what + ": expected exactly " + typeof(T).Name + ", got " + e.GetType().Name);
                return e;
            }
            catch (Exception e)
            {
                throw new Exception(what + ": expected " + typeof(T).Name + ", got " + e.GetType().Name + ": " + e.Message);
            }
            throw new Exception(what + ": expected " + typeof(T).Name + ", nothing was thrown");
        }
    }

    internal static class Program
    {
        private static string root;
        private static string simulatorBinary;

        private static readonly List<KeyValuePair<string, Action>> Tests = new List<KeyValuePair<string, Action>>
        {
            Test("full payment flow", FullPaymentFlow),
            Test("non-ASCII order text reaches Klarna byte-exact as UTF-8", OrderTextIsUtf8),
            Test("non-ASCII text in an error message comes back intact", ErrorTextIsUtf8),
            Test("every invalid order is a bad request naming its field", BadRequestNamesTheField),
            Test("nothing is sent for a refused order", NothingSentForRefusedOrder),
            Test("wrong password is permission denied with status and correlation id", WrongPassword),
            Test("Check passes with right credentials and names wrong ones", HealthCheck),
            Test("bad configuration is invalid argument naming the key", BadConfiguration),
            Test("a NUL inside a string argument is invalid argument", EmbeddedNul),
            Test("Wait without change throws the timeout with the last status", WaitTimeout),
            Test("Cancel from another thread releases Wait with cancelled", CancelFromAnotherThread),
            Test("Cancel after completion is a conflict", CancelAfterCompletion),
            Test("an unknown session is not found", UnknownSession),
            Test("Klarna's failures raise their classes", KlarnaSideFailures),
            Test("https to a plain http server is a TLS error", TlsFailure),
            Test("a failed session reports its failure without throwing", FailureProperty),
            Test("resumed session reads the same payment", ResumedSession),
            Test("FromEnvironment reads the KLARNA variables", FromEnvironment),
            Test("a disposed session refuses calls", DisposedSession),
            Test("a session outlives its disposed client", SessionOutlivesClient),
            Test("log callback receives the library's lines", LogCallback),
            Test("status numbers equal the header's", StatusNumbers),
            Test("every result code of the header has its exception class", ExceptionClasses),
            Test("version equals the header's; another major version is refused", Version),
            Test("on Windows the DLL of the process's bitness is looked for first", NativeDllForBitness),
            Test("a thousand sessions are released by Dispose and by the finalizer", ManySessions),
            Test("GetOrder returns Klarna's order JSON", GetOrder),
            Test("a refund repeated with its key is booked once with the same id", RefundTwiceWithOneKey),
            Test("Klarna's Order Management refusals are conflicts", OrderManagementConflicts),
            Test("capture and refund bodies are checked before anything is sent", OrderBodiesChecked),
            Test("JournalPending lists a session until it is terminal", JournalPending),
            Test("the store's day: HistoryReport, HistoryFind and ReceiptText", StoresDay),
            Test("Qr.Render draws every format", QrEveryFormat),
            Test("Qr.Render refuses empty text and unknown formats", QrRefusals),
            Test("display texts are the cashier texts", DisplayTexts),
            Test("VerifyWebhook accepts the genuine token and refuses a forged one", VerifyWebhook),
            Test("with WebhookSecret a receiver without the session verifies its callback", VerifyWebhookWithSecret),
            Test("StatusChanged is raised once per status, in order", () => WithClient((sim, c) => EventTests.StatusChangedInOrder(sim, c, Order()))),
            Test("StatusChanged runs on the subscriber's SynchronizationContext", () => WithClient((sim, c) => EventTests.StatusChangedOnTheSubscribersContext(sim, c, Order()))),
            Test("WaitAsync completes with the final status", () => WithClient((sim, c) => EventTests.WaitAsyncCompletes(sim, c, Order()))),
            Test("cancelling WaitAsync's token cancels the payment", () => WithClient((sim, c) => EventTests.WaitAsyncCancellationCancelsTheSession(sim, c, Order()))),
            Test("WaitAsync times out with the last status", () => WithClient((sim, c) => EventTests.WaitAsyncTimesOut(sim, c, Order()))),
            Test("status texts in the cashier's and the customer's language", EventTests.Texts),
        };

        private static KeyValuePair<string, Action> Test(string name, Action body)
        {
            return new KeyValuePair<string, Action>(name, body);
        }

        private static int Main(string[] args)
        {
            if (args.Length != 2)
            {
                Console.Error.WriteLine("usage: KlarnaPosTests.exe REPOSITORY_ROOT KLARNA_POS_SIM");
                return 64;
            }
            root = args[0];
            simulatorBinary = args[1];
            int passed = 0, failed = 0;
            foreach (var test in Tests)
            {
                try
                {
                    test.Value();
                    Console.WriteLine("ok - " + test.Key);
                    passed++;
                }
                catch (Exception e)
                {
                    Console.WriteLine("not ok - " + test.Key + ": " + e);
                    failed++;
                }
            }
            Console.WriteLine("{0} passed, {1} failed", passed, failed);
            return failed == 0 ? 0 : 1;
        }

        // ---- fixtures ---------------------------------------------------------------------

        private static string ReadText(string relative)
        {
            return File.ReadAllText(Path.Combine(root, relative), Encoding.UTF8);
        }

        private static string Order()
        {
            return ReadText("tests/data/valid_orders/se_vat_discount.json");
        }

        /// <summary>Runs <paramref name="body"/> with a fresh simulator and a client for it.</summary>
        private static void WithClient(Action<Simulator, KlarnaClient> body)
        {
            using (var sim = new Simulator(simulatorBinary))
            using (var client = new KlarnaClient(sim.Config()))
                body(sim, client);
        }

        /// <summary>{"NAME": number} for every `#define PREFIXNAME number` of the C header.</summary>
        private static Dictionary<string, uint> HeaderDefines(string prefix)
        {
            var found = new Dictionary<string, uint>();
            var line = new Regex("^#define " + prefix + @"(\w+) (\d+)$", RegexOptions.Multiline);
            foreach (Match m in line.Matches(ReadText("include/klarna_pos.h")))
                found[m.Groups[1].Value] = uint.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            return found;
        }

        /// <summary>JSON text of a value from Json.Parse (orders of tests/data, re-serialised).</summary>
        private static string ToJson(object value)
        {
            if (value == null)
                return "null";
            if (value is bool)
                return (bool)value ? "true" : "false";
            if (value is long)
                return ((long)value).ToString(CultureInfo.InvariantCulture);
            if (value is double)
            {
                // Keep a float a float: "100.0" must not become the integer 100.
                string number = ((double)value).ToString("R", CultureInfo.InvariantCulture);
                return number.IndexOfAny(new[] { '.', 'E' }) < 0 ? number + ".0" : number;
            }
            if (value is string)
                return Json.Quote((string)value);
            var obj = value as IDictionary<string, object>;
            if (obj != null)
                return "{" + string.Join(",", obj.Select(kv => Json.Quote(kv.Key) + ":" + ToJson(kv.Value)).ToArray()) + "}";
            return "[" + string.Join(",", ((IList<object>)value).Select(ToJson).ToArray()) + "]";
        }

        // ---- the payment flow -------------------------------------------------------------

        private static void FullPaymentFlow()
        {
            WithClient((sim, client) =>
            {
                using (KlarnaSession session = client.CreateSession(Order()))
                {
                    Check.True(session.Id.Length > 0, "a session id");
                    Check.True(session.ResultUrl.StartsWith(sim.Url, StringComparison.Ordinal), "result_url at the simulator");
                    Check.Equal(SessionStatus.Created, session.Status, "status before the first poll");
                    Check.Equal(null, session.QrUrl, "no QR before the first poll");

                    Check.Equal(SessionStatus.Distributed, session.Poll(), "first poll");
                    Check.True(session.QrUrl.Contains(session.Id), "QR URL names the session");
                    Check.True(session.PaymentLink.Contains(session.Id), "payment link names the session");
                    Check.Equal(null, session.Failure, "no failure");

                    sim.Customer(session.Id, "scan");
                    Check.Equal(SessionStatus.Accessed, session.Wait(TimeSpan.FromSeconds(10)), "after scan");
                    sim.Customer(session.Id, "approve", "{\"order_id\":\"ORDER-NET-0001\"}");
                    Check.Equal(SessionStatus.Completed, session.Wait(TimeSpan.FromSeconds(10)), "after approve");
                    Check.True(session.Status.IsTerminal(), "COMPLETED is terminal");
                    Check.Equal("COMPLETED", session.Status.ToNativeName(), "native name");
                    Check.Equal("ORDER-NET-0001", session.OrderId, "order id");
                    Check.Equal("COMPLETED", (string)sim.Session(session.Id)["status"], "simulator status");
                }
            });
        }

        private const string NonAsciiName = "Kaffee – Größe L 🙂";

        private static void OrderTextIsUtf8()
        {
            string order = Order().Replace("Kaffebönor Mellanrost 500 g", NonAsciiName);
            Check.True(order.Contains(NonAsciiName), "the order carries the name");
            WithClient((sim, client) =>
            {
                using (KlarnaSession session = client.CreateSession(order))
                {
                    byte[] raw;
                    Check.Equal(200, sim.Request("GET", "/_sim/sessions/" + session.Id, null, out raw), "GET session");
                    var recorded = (IDictionary<string, object>)JsonReader.Parse(Encoding.UTF8.GetString(raw));
                    string body = (string)recorded["request_body"];
                    // The library passes the till's own text on, so the name's bytes stand as the till wrote them.
                    byte[] expected = Encoding.UTF8.GetBytes("\"" + NonAsciiName + "\"");
                    byte[] sent = Encoding.UTF8.GetBytes(body);
                    Check.True(IndexOf(sent, expected) >= 0, "the request body holds the name's UTF-8 bytes: " + body);
                    var lines = (IList<object>)((IDictionary<string, object>)JsonReader.Parse(body))["order_lines"];
                    Check.Equal(NonAsciiName, (string)((IDictionary<string, object>)lines[0])["name"], "name as Klarna read it");
                }
            });
        }

        private static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i + needle.Length <= haystack.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j])
                    j++;
                if (j == needle.Length)
                    return i;
            }
            return -1;
        }

        private static void ErrorTextIsUtf8()
        {
            WithClient((sim, client) =>
            {
                string order = Order().Replace("\"SEK\"", "\"KRÖ\"");
                var e = Check.Throws<KlarnaBadRequestException>(() => client.CreateSession(order), "currency KRÖ");
                Check.Equal("purchase_currency", e.Field, "field");
                Check.True(e.Message.Contains("KRÖ"), "message keeps the text: " + e.Message);
            });
        }

        // ---- exceptions --------------------------------------------------------------------

        private static void BadRequestNamesTheField()
        {
            var cases = (IList<object>)JsonReader.Parse(ReadText("tests/data/invalid_orders.json"));
            Check.True(cases.Count > 10, "the invalid orders are read");
            WithClient((sim, client) =>
            {
                foreach (IDictionary<string, object> c in cases)
                {
                    string name = (string)c["name"];
                    var e = Check.Throws<KlarnaBadRequestException>(() => client.CreateSession(ToJson(c["order"])), name);
                    Check.Equal((string)c["field"], e.Field, name + " field");
                    Check.Equal(10u, e.Code, name + " code");
                    Check.Equal("KPOS_E_BAD_REQUEST", e.Name, name + " name");
                    Check.Equal(KlarnaAction.FixInput, e.Action, name + " action");
                    Check.True(e.Message.Contains(e.Field), name + " message names the field");
                    Check.Equal(null, e.HttpStatus, name + " no HTTP status");
                    Check.Equal(null, e.CorrelationId, name + " no correlation id");
                }
            });
        }

        private static void NothingSentForRefusedOrder()
        {
            WithClient((sim, client) =>
            {
                Check.Throws<KlarnaBadRequestException>(() => client.CreateSession(Order().Replace("49000", "49001")), "order_amount off by one");
                Check.Equal(0L, sim.Number(sim.Stats(), "create_requests"), "create requests");
            });
        }

        private static void WrongPassword()
        {
            using (var sim = new Simulator(simulatorBinary))
            using (var client = new KlarnaClient(sim.Config("not-the-password")))
            {
                var e = Check.Throws<KlarnaPermissionDeniedException>(() => client.CreateSession(Order()), "wrong password");
                Check.Equal(11u, e.Code, "code");
                Check.Equal("KPOS_E_PERMISSION_DENIED", e.Name, "name");
                Check.Equal(KlarnaAction.ContactSupport, e.Action, "action");
                Check.Equal((int?)401, e.HttpStatus, "HTTP status");
                Check.True(!string.IsNullOrEmpty(e.CorrelationId), "a correlation id");
                Check.True(e.ToString().Contains(e.CorrelationId), "ToString shows the correlation id");
                Check.Equal(null, e.Field, "no field");
            }
        }

        private static void HealthCheck()
        {
            using (var sim = new Simulator(simulatorBinary))
            {
                using (var client = new KlarnaClient(sim.Config()))
                {
                    uint code;
                    string report = client.Check(out code);
                    Check.Equal(0u, code, "every step passed");
                    Check.True(report.Contains("{\"step\":\"credentials\",\"verdict\":\"ok\""), "credentials step ok: " + report);
                }
                using (var client = new KlarnaClient(sim.Config("not-the-password")))
                {
                    uint code;
                    string report = client.Check(out code);
                    Check.Equal("KPOS_E_PERMISSION_DENIED", KlarnaLibrary.ResultName(code), "wrong credentials");
                    Check.True(report.Contains("\"code_name\":\"KPOS_E_PERMISSION_DENIED\""), "named in the report: " + report);
                }
                Check.Equal(0L, sim.Number(sim.Stats(), "sessions_created"), "the check created nothing");
            }
        }

        private static void BadConfiguration()
        {
            var e = Check.Throws<KlarnaInvalidArgumentException>(
                () => new KlarnaClient(new KlarnaConfig { ApiUrl = "http://127.0.0.1:9", Username = "u", Password = "p", RequestTimeoutMs = 0 }),
                "request_timeout_ms 0");
            Check.Equal("request_timeout_ms", e.Field, "field");
            Check.Equal(KlarnaAction.FixCaller, e.Action, "action");
            e = Check.Throws<KlarnaInvalidArgumentException>(() => new KlarnaClient("{\"usernme\":\"u\"}"), "misspelt key");
            Check.Equal("usernme", e.Field, "field of the unknown key");
            e = Check.Throws<KlarnaInvalidArgumentException>(
                () => new KlarnaClient(new KlarnaConfig { ApiUrl = "http://shop.example", Username = "u", Password = "p" }),
                "plain http to a remote host");
            Check.Equal("api_url", e.Field, "field");
        }

        private static void EmbeddedNul()
        {
            WithClient((sim, client) =>
            {
                var e = Check.Throws<KlarnaInvalidArgumentException>(() => client.CreateSession("{\"a\":1}\0{}"), "NUL in the order");
                Check.Equal("order", e.Field, "field");
                Check.Throws<KlarnaInvalidArgumentException>(() => client.CreateSession("purchase_country=SE"), "not JSON");
            });
        }

        private static void WaitTimeout()
        {
            WithClient((sim, client) =>
            {
                using (KlarnaSession session = client.CreateSession(Order()))
                {
                    session.Poll();
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var e = Check.Throws<KlarnaTimeoutException>(() => session.Wait(TimeSpan.FromMilliseconds(300)), "no change");
                    Check.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), "waited the timeout: " + clock.Elapsed);
                    Check.Equal(30u, e.Code, "code");
                    Check.Equal((SessionStatus?)SessionStatus.Distributed, e.LastStatus, "last status");
                    Check.Throws<ArgumentOutOfRangeException>(() => session.Wait(TimeSpan.FromSeconds(-1)), "negative timeout");
                }
            });
        }

        private static void CancelFromAnotherThread()
        {
            WithClient((sim, client) =>
            {
                using (KlarnaSession session = client.CreateSession(Order()))
                {
                    session.Poll();
                    long pollsBefore = sim.Number(sim.Session(session.Id), "polls");
                    Exception cancelError = null;
                    var canceller = new Thread(() =>
                    {
                        try
                        {
                            // The Wait is blocked once its first status request reached the simulator.
                            Simulator.WaitUntil(() => sim.Number(sim.Session(session.Id), "polls") > pollsBefore, "Wait polls");
                            session.Cancel();
                        }
                        catch (Exception e)
                        {
                            cancelError = e;
                        }
                    });
                    canceller.Start();
                    var error = Check.Throws<KlarnaCancelledException>(() => session.Wait(TimeSpan.FromSeconds(10)), "Wait during Cancel");
                    canceller.Join();
                    Check.Equal(null, cancelError, "Cancel on the other thread");
                    Check.Equal(50u, error.Code, "code");
                    Check.Equal(SessionStatus.Canceled, session.Status, "status");
                    Check.Equal("CANCELED", (string)sim.Session(session.Id)["status"], "simulator status");
                    session.Cancel(); // idempotent
                }
            });
        }

        private static void CancelAfterCompletion()
        {
            WithClient((sim, client) =>
            {
                using (KlarnaSession session = client.CreateSession(Order()))
                {
                    session.Poll();
                    sim.Customer(session.Id, "approve");
                    Check.Equal(SessionStatus.Completed, session.Wait(TimeSpan.FromSeconds(10)), "completed");
                    var e = Check.Throws<KlarnaConflictException>(session.Cancel, "cancel after completion");
                    Check.Equal(14u, e.Code, "code");
                    Check.Equal(SessionStatus.Completed, session.Status, "still completed");
                }
            });
        }

        private static void UnknownSession()
        {
            WithClient((sim, client) =>
            {
                using (KlarnaSession session = client.ResumeSession("no-such-session", sim.Url + "/instore/v1/distributions/no-such-session?dt=x"))
                {
                    var e = Check.Throws<KlarnaNotFoundException>(() => session.Poll(), "unknown session");
                    Check.Equal((int?)404, e.HttpStatus, "HTTP status");
                }
            });
        }

        private static void KlarnaSideFailures()
        {
            var cases = new[]
            {
                Tuple.Create("{\"mode\":\"rate_limit\",\"retry_after\":0,\"count\":50}", typeof(KlarnaRateLimitedException)),
                Tuple.Create("{\"mode\":\"status_500\",\"count\":50}", typeof(KlarnaUnknownException)),
                Tuple.Create("{\"mode\":\"reset\",\"count\":50}", typeof(KlarnaNetworkException)),
                Tuple.Create("{\"mode\":\"malformed_json\",\"count\":50}", typeof(KlarnaProtocolException)),
            };
            foreach (var c in cases)
            {
                WithClient((sim, client) =>
                {
                    sim.Fault(c.Item1);
                    try
                    {
                        client.CreateSession(Order());
                        throw new Exception(c.Item1 + ": nothing thrown");
                    }
                    catch (KlarnaException e)
                    {
                        Check.Equal(c.Item2, e.GetType(), c.Item1);
                        Check.Equal(KlarnaLibrary.ResultName(e.Code), e.Name, "name");
                        Check.Equal(null, e.RetryAfter, "no Retry-After to wait out");
                    }
                });
            }
            WithClient((sim, client) =>
            {
                sim.Fault("{\"mode\":\"rate_limit\",\"retry_after\":2,\"count\":1}");
                var e = Check.Throws<KlarnaRateLimitedException>(() => client.CreateSession(Order()), "a creation at the limit");
                Check.Equal((TimeSpan?)TimeSpan.FromSeconds(2), e.RetryAfter, "Klarna's Retry-After");
            });
            using (var sim = new Simulator(simulatorBinary))
            {
                KlarnaConfig config = sim.Config();
                config.RequestTimeoutMs = 300;
                using (var client = new KlarnaClient(config))
                {
                    sim.Fault("{\"mode\":\"stall\",\"stall_ms\":3000,\"count\":50}");
                    var e = Check.Throws<KlarnaTimeoutException>(() => client.CreateSession(Order()), "stalled answer");
                    Check.Equal(null, e.LastStatus, "no status outside Wait");
                }
            }
        }

        private static void TlsFailure()
        {
            using (var sim = new Simulator(simulatorBinary))
            {
                KlarnaConfig config = sim.Config();
                config.ApiUrl = sim.Url.Replace("http://", "https://");
                using (var client = new KlarnaClient(config))
                {
                    var e = Check.Throws<KlarnaTlsException>(() => client.CreateSession(Order()), "TLS to plain http");
                    Check.Equal(32u, e.Code, "code");
                }
            }
        }

        private static void FailureProperty()
        {
            WithClient((sim, client) =>
            {
                using (KlarnaSession session = client.CreateSession(Order()))
                {
                    session.Poll();
                    sim.Customer(session.Id, "fail", "{\"code\":\"PERMISSION_DENIED\"}");
                    Check.Equal(SessionStatus.Failed, session.Wait(TimeSpan.FromSeconds(10)), "failed");
                    KlarnaException failure = session.Failure;
                    Check.Equal(typeof(KlarnaPermissionDeniedException), failure.GetType(), "failure class");
                    Check.Equal("PERMISSION_DENIED", failure.KlarnaErrorCode, "Klarna's error code");
                }
            });
        }

        private static void ResumedSession()
        {
            WithClient((sim, client) =>
            {
                using (KlarnaSession session = client.CreateSession(Order()))
                {
                    session.Poll();
                    sim.Customer(session.Id, "approve", "{\"order_id\":\"ORDER-NET-0002\"}");
                    using (KlarnaSession resumed = client.ResumeSession(session.Id, session.ResultUrl))
                    {
                        Check.Equal(session.Id, resumed.Id, "id");
                        Check.Equal(SessionStatus.Created, resumed.Status, "no status read yet");
                        Check.Equal(SessionStatus.Completed, resumed.Poll(), "status");
                        Check.Equal("ORDER-NET-0002", resumed.OrderId, "order id");
                    }
                }
            });
        }

        private static void FromEnvironment()
        {
            using (var sim = new Simulator(simulatorBinary))
            {
                Environment.SetEnvironmentVariable("KLARNA_API_URL", sim.Url);
                Environment.SetEnvironmentVariable("KLARNA_USERNAME", Simulator.User);
                Environment.SetEnvironmentVariable("KLARNA_PASSWORD", Simulator.Password);
                try
                {
                    using (KlarnaClient client = KlarnaClient.FromEnvironment())
                    using (KlarnaSession session = client.CreateSession(Order()))
                        Check.Equal(SessionStatus.Distributed, session.Poll(), "first poll");
                    Environment.SetEnvironmentVariable("KLARNA_API_URL", null);
                    var e = Check.Throws<KlarnaInvalidArgumentException>(() => KlarnaClient.FromEnvironment(), "no KLARNA_API_URL");
                    Check.Equal("api_url", e.Field, "field");
                }
                finally
                {
                    Environment.SetEnvironmentVariable("KLARNA_API_URL", null);
                    Environment.SetEnvironmentVariable("KLARNA_USERNAME", null);
                    Environment.SetEnvironmentVariable("KLARNA_PASSWORD", null);
                }
            }
        }

        private static void NativeDllForBitness()
        {
            string app = Path.Combine("C:", "till");
            var x64 = NativeLoader.Candidates(new[] { app, null }, true);
            var x86 = NativeLoader.Candidates(new[] { app }, false);
            Check.Equal(Path.Combine(app, "runtimes", "win-x64", "native", "klarna_pos.dll"), x64[0], "64-bit: NuGet's runtimes folder first");
            Check.Equal(Path.Combine(app, "x64", "klarna_pos.dll"), x64[1], "64-bit: then x64");
            Check.Equal(2, x64.Count, "an empty folder is skipped");
            Check.Equal(Path.Combine(app, "runtimes", "win-x86", "native", "klarna_pos.dll"), x86[0], "32-bit (also Prefer32Bit): win-x86");
            Check.Equal(Path.Combine(app, "x86", "klarna_pos.dll"), x86[1], "32-bit: then x86");
            if (Environment.OSVersion.Platform != PlatformID.Win32NT)
                Check.Equal<string>(null, NativeLoader.LoadForProcess(), "nothing is loaded elsewhere than on Windows");
        }

        private static void DisposedSession()
        {
            WithClient((sim, client) =>
            {
                KlarnaSession session = client.CreateSession(Order());
                string id = session.Id;
                session.Dispose();
                session.Dispose(); // idempotent
                Check.Equal(id, session.Id, "the id stays readable");
                Check.Throws<ObjectDisposedException>(() => session.Poll(), "Poll after Dispose");
                Check.Throws<ObjectDisposedException>(() => { var s = session.Status; }, "Status after Dispose");
                Check.Throws<ObjectDisposedException>(session.Cancel, "Cancel after Dispose");
            });
        }

        private static void SessionOutlivesClient()
        {
            using (var sim = new Simulator(simulatorBinary))
            {
                var client = new KlarnaClient(sim.Config());
                using (KlarnaSession session = client.CreateSession(Order()))
                {
                    client.Dispose();
                    Check.Throws<ObjectDisposedException>(() => client.CreateSession(Order()), "create after Dispose");
                    Check.Equal(SessionStatus.Distributed, session.Poll(), "the session still polls");
                }
            }
        }

        private static void LogCallback()
        {
            var lines = new List<string>();
            KlarnaLibrary.SetLogCallback((level, message) => { lock (lines) lines.Add(level + " " + message); }, KlarnaLogLevel.Debug);
            try
            {
                WithClient((sim, client) =>
                {
                    using (KlarnaSession session = client.CreateSession(Order()))
                        session.Poll();
                });
            }
            finally
            {
                KlarnaLibrary.SetLogCallback(null);
            }
            lock (lines)
            {
                Check.True(lines.Count > 0, "log lines arrived");
                Check.True(!lines.Any(l => l.Contains(Simulator.Password)), "no password in the log");
            }
            Check.Throws<KlarnaInvalidArgumentException>(() => KlarnaLibrary.SetLogCallback((l, m) => { }, (KlarnaLogLevel)9), "level 9");
        }

        // ---- agreement with the C header -----------------------------------------------------

        private static void StatusNumbers()
        {
            Dictionary<string, uint> defined = HeaderDefines("KPOS_STATUS_");
            var values = (SessionStatus[])Enum.GetValues(typeof(SessionStatus));
            Check.Equal(defined.Count, values.Length, "number of statuses");
            foreach (SessionStatus s in values)
            {
                Check.Equal(defined[s.ToNativeName()], (uint)s, s.ToString());
                Check.Equal(s.ToString().ToUpperInvariant(), s.ToNativeName(), "name of " + s);
            }
            Check.Equal(SessionStatus.Unknown, SessionStatusExtensions.FromNative(1234), "a newer library's status");
        }

        private static void ExceptionClasses()
        {
            Dictionary<string, uint> codes = HeaderDefines("KPOS_E_");
            var classes = new HashSet<Type>();
            foreach (var pair in codes)
            {
                KlarnaException e = KlarnaException.Create(pair.Value, "x");
                Check.True(e.GetType() != typeof(KlarnaException), pair.Key + " has its own class");
                Check.Equal("KPOS_E_" + pair.Key, e.Name, "name");
                Check.Equal(pair.Value, e.Code, "code");
                classes.Add(e.GetType());
            }
            Check.Equal(codes.Count, classes.Count, "one class per code");
            Check.Equal(13, codes.Count, "the header's codes");
            Check.Equal(typeof(KlarnaException), KlarnaException.Create(4242, "x").GetType(), "an unknown code");
        }

        private static void Version()
        {
            Dictionary<string, uint> v = HeaderDefines("KPOS_VERSION_");
            Check.Equal(v["MAJOR"] + "." + v["MINOR"] + "." + v["PATCH"], KlarnaLibrary.Version, "version");
            Check.Equal(KlarnaLibrary.Version, KlarnaLibrary.BindingVersion, "the binding's version is Cargo.toml's");
            Check.Equal(v["MAJOR"] * 10000 + v["MINOR"] * 100 + v["PATCH"], Native.kpos_version_number(), "kpos_version_number");
            KlarnaLibrary.EnsureCompatible();
            Check.Equal(null, KlarnaLibrary.VersionMismatch(10203, "1.0.0"), "same major: accepted");
            string why = KlarnaLibrary.VersionMismatch(20001, "1.2.3");
            Check.Equal(true, why != null && why.Contains("2.0.1") && why.Contains("1.2.3"), "another major: refused naming both: " + why);
            Check.Equal(true, KlarnaLibrary.VersionMismatch(10000, "0.1.0") != null, "1.x library, 0.x binding: refused");
        }

        // ---- after the sale ------------------------------------------------------------------

        /// <summary>Completes a session created through the library; Klarna places the order with
        /// <paramref name="orderId"/>.</summary>
        private static string PaidOrder(Simulator sim, KlarnaClient client, string orderId)
        {
            using (KlarnaSession session = client.CreateSession(Order()))
                sim.Customer(session.Id, "approve", "{\"order_id\":\"" + orderId + "\"}");
            return orderId;
        }

        /// <summary>Orders placed from now on are captured in full (refunds need captures).</summary>
        private static void CaptureOnPlacement(Simulator sim)
        {
            byte[] raw;
            Check.Equal(200, sim.Request("POST", "/_sim/config", "{\"auto_capture\":true}", out raw), "config");
        }

        private static IList<object> Refunds(Simulator sim, string orderId)
        {
            return (IList<object>)sim.Get("/_sim/orders/" + orderId)["refunds"];
        }

        private static void GetOrder()
        {
            WithClient((sim, client) =>
            {
                string orderId = PaidOrder(sim, client, "ORDER-NET-GET");
                var order = (IDictionary<string, object>)JsonReader.Parse(client.GetOrder(orderId));
                Check.Equal(orderId, (string)order["order_id"], "order id");
                Check.Equal("AUTHORIZED", (string)order["status"], "status");
                Check.Equal(49000L, sim.Number(order, "order_amount"), "order amount");
                Check.Equal(49000L, sim.Number(order, "remaining_authorized_amount"), "remaining");
                var e = Check.Throws<KlarnaNotFoundException>(() => client.GetOrder("no-such-order"), "unknown order");
                Check.Equal("NO_SUCH_ORDER", e.KlarnaErrorCode, "Klarna's code");
            });
        }

        private static void RefundTwiceWithOneKey()
        {
            WithClient((sim, client) =>
            {
                CaptureOnPlacement(sim);
                string orderId = PaidOrder(sim, client, "ORDER-NET-REFUND");
                string first = client.Refund(orderId, 500, reference: "R-1001", idempotencyKey: "till3-R1001");
                string second = client.Refund(orderId, 500, reference: "R-1001", idempotencyKey: "till3-R1001");
                Check.True(!string.IsNullOrEmpty(first), "a refund id");
                Check.Equal(first, second, "the same refund id");
                IList<object> refunds = Refunds(sim, orderId);
                Check.Equal(1, refunds.Count, "refunds booked");
                var refund = (IDictionary<string, object>)refunds[0];
                Check.Equal(first, (string)refund["refund_id"], "ledger refund id");
                Check.Equal("R-1001", (string)refund["reference"], "reference");
                var order = (IDictionary<string, object>)JsonReader.Parse(client.GetOrder(orderId));
                Check.Equal(500L, sim.Number(order, "refunded_amount"), "refunded amount");

                string body = "{\"refunded_amount\":700,\"description\":\"Retur – kvitto 1002\"}";
                string third = client.RefundWithBody(orderId, body, "till3-R1002");
                Check.Equal(third, client.RefundWithBody(orderId, body, "till3-R1002"), "the same id with a body");
                refunds = Refunds(sim, orderId);
                Check.Equal(2, refunds.Count, "refunds booked");
                Check.Equal("Retur – kvitto 1002", (string)((IDictionary<string, object>)refunds[1])["description"], "UTF-8 description");
            });
        }

        private static void OrderManagementConflicts()
        {
            WithClient((sim, client) =>
            {
                string captured = PaidOrder(sim, client, "ORDER-NET-CAPTURED");
                string captureId = client.Capture(captured, 1000, "C-1");
                var capture = (IDictionary<string, object>)((IList<object>)sim.Get("/_sim/orders/" + captured)["captures"])[0];
                Check.Equal(captureId, (string)capture["capture_id"], "capture id");

                var e = Check.Throws<KlarnaConflictException>(() => client.Refund(captured, 1001), "refund above the captured amount");
                Check.Equal("REFUND_NOT_ALLOWED", e.KlarnaErrorCode, "Klarna's code");
                Check.Equal((int?)403, e.HttpStatus, "HTTP status");
                Check.True(!string.IsNullOrEmpty(e.CorrelationId), "a correlation id");
                Check.Equal(0, Refunds(sim, captured).Count, "nothing refunded");

                e = Check.Throws<KlarnaConflictException>(() => client.CancelOrder(captured), "cancel after a capture");
                Check.Equal("CANCEL_NOT_ALLOWED", e.KlarnaErrorCode, "Klarna's code");

                string untouched = PaidOrder(sim, client, "ORDER-NET-VOID");
                client.CancelOrder(untouched, "void-1");
                Check.Equal("CANCELLED", (string)((IDictionary<string, object>)JsonReader.Parse(client.GetOrder(untouched)))["status"], "cancelled");
                Check.Throws<KlarnaConflictException>(() => client.ReleaseRemainingAuthorization(untouched), "release after a cancel");

                string released = PaidOrder(sim, client, "ORDER-NET-RELEASE");
                var notAllowed = Check.Throws<KlarnaConflictException>(() => client.ReleaseRemainingAuthorization(released), "release without a capture");
                Check.Equal("NOT_ALLOWED", notAllowed.KlarnaErrorCode, "Klarna's code");
                client.Capture(released, 100);
                client.ReleaseRemainingAuthorization(released);
                Check.Equal("CAPTURED", (string)((IDictionary<string, object>)JsonReader.Parse(client.GetOrder(released)))["status"], "captured");
                Check.Throws<KlarnaConflictException>(() => client.Capture(released, 100), "capture after the release");
            });
        }

        private static void OrderBodiesChecked()
        {
            WithClient((sim, client) =>
            {
                string orderId = PaidOrder(sim, client, "ORDER-NET-BODY");
                long before = sim.Number(sim.Stats(), "requests");
                var e = Check.Throws<KlarnaBadRequestException>(() => client.Refund(orderId, -1), "negative refund");
                Check.Equal("refunded_amount", e.Field, "field");
                e = Check.Throws<KlarnaBadRequestException>(() => client.Capture(orderId, 100, new string('r', 256)), "long reference");
                Check.Equal("reference", e.Field, "field");
                e = Check.Throws<KlarnaBadRequestException>(() => client.CaptureWithBody(orderId, "{\"captured_amount\":100,\"description\":5}"), "description not a string");
                Check.Equal("description", e.Field, "field");
                Check.Throws<KlarnaInvalidArgumentException>(() => client.Refund(orderId, 100, idempotencyKey: "has spaces"), "key with spaces");
                Check.Throws<KlarnaInvalidArgumentException>(() => client.RefundWithBody(orderId, "refunded_amount=100"), "not JSON");
                Check.Throws<ArgumentNullException>(() => client.GetOrder(null), "null order id");
                Check.Equal(before, sim.Number(sim.Stats(), "requests"), "nothing was sent");
            });
        }

        private static void JournalPending()
        {
            string dir = Path.Combine(Path.GetTempPath(), "klarna-pos-dotnet-journal-" + Guid.NewGuid().ToString("N"));
            try
            {
                using (var sim = new Simulator(simulatorBinary))
                {
                    KlarnaConfig config = sim.Config();
                    config.JournalDir = dir;
                    using (var client = new KlarnaClient(config))
                    {
                        Check.Equal(0, ((IList<object>)JsonReader.Parse(client.JournalPending())).Count, "nothing open");
                        using (KlarnaSession session = client.CreateSession(Order()))
                        {
                            var pending = (IList<object>)JsonReader.Parse(client.JournalPending());
                            Check.Equal(1, pending.Count, "the session is open");
                            var record = (IDictionary<string, object>)pending[0];
                            Check.Equal("session", (string)record["kind"], "kind");
                            Check.Equal(session.Id, (string)record["session_id"], "session id");
                            Check.Equal(session.ResultUrl, (string)record["result_url"], "result url");
                            session.Poll();
                            sim.Customer(session.Id, "approve");
                            Check.Equal(SessionStatus.Completed, session.Wait(TimeSpan.FromSeconds(10)), "completed");
                        }
                        Check.Equal(0, ((IList<object>)JsonReader.Parse(client.JournalPending())).Count, "closed once terminal");
                    }
                    using (var plain = new KlarnaClient(sim.Config()))
                        Check.Throws<KlarnaInvalidArgumentException>(() => plain.JournalPending(), "no journal configured");
                }
            }
            finally
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, true);
            }
        }

        private static void StoresDay()
        {
            string dir = Path.Combine(Path.GetTempPath(), "klarna-pos-dotnet-day-" + Guid.NewGuid().ToString("N"));
            try
            {
                using (var sim = new Simulator(simulatorBinary))
                {
                    KlarnaConfig config = sim.Config();
                    config.JournalDir = dir;
                    DateTimeOffset start = DateTimeOffset.Now.AddHours(-1);
                    var order = (IDictionary<string, object>)JsonReader.Parse(Order());
                    long amount = JsonReader.Number(order, "order_amount").Value;
                    string reference = JsonReader.Text(order, "merchant_reference1");
                    string shown = (amount / 100).ToString(CultureInfo.InvariantCulture) + ","
                        + (amount % 100).ToString("00", CultureInfo.InvariantCulture) + " SEK";
                    using (var client = new KlarnaClient(config))
                    {
                        using (KlarnaSession session = client.CreateSession(Order()))
                        {
                            Check.Throws<KlarnaConflictException>(() => session.ReceiptText("de"), "no receipt before COMPLETED");
                            sim.Customer(session.Id, "approve");
                            Check.Equal(SessionStatus.Completed, session.Poll(), "completed");
                            string receipt = session.ReceiptText("de");
                            Check.True(receipt.StartsWith("Bezahlt mit Klarna\n", StringComparison.Ordinal), receipt);
                            Check.True(receipt.Contains(shown), receipt);
                            Check.True(receipt.Contains(reference), receipt);
                            Check.True(receipt.Contains(session.OrderId), receipt);
                            foreach (string line in receipt.Split('\n'))
                                Check.True(line.Length <= 42, "at most 42 characters: " + line);
                        }
                        HistoryReport report = client.HistoryReport(start, start.AddHours(2));
                        Check.Equal(1, report.Currencies.Count, "one currency");
                        Check.Equal(1L, report.For("SEK")["paid"].Count, "paid count");
                        Check.Equal(amount, report.For("SEK")["paid"].Amount, "paid amount");
                        Check.Equal(0L, report.For("SEK")["refunded"].Count, "no refund");
                        Check.Equal("paid", report.Items[0].Outcome, "item outcome");
                        IList<HistoryRecord> found = client.HistoryFind(reference);
                        Check.Equal(1, found.Count, "found by merchant_reference1");
                        Check.Equal((long?)amount, found[0].Amount, "found amount");
                        Check.Equal(0, client.HistoryFind("nothing-here").Count, "nothing known");
                        var bad = Check.Throws<KlarnaInvalidArgumentException>(() => client.HistoryReport("yesterday", "2026-12-01T00:00:00Z"), "bad bound");
                        Check.Equal("from", bad.Field, "the bad bound is named");
                    }
                }
            }
            finally
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, true);
            }
        }

        // ---- QR codes and cashier texts ---------------------------------------------------------

        private static void QrEveryFormat()
        {
            const string link = "https://pay.klarna.com/eu/p/7d2a4f0e?q=Kaffebönor";
            foreach (QrFormat format in Enum.GetValues(typeof(QrFormat)))
            {
                byte[] drawn = Qr.Render(link, format);
                Check.True(drawn.Length > 0, format + " is not empty");
            }
            byte[] png = Qr.Render(link, QrFormat.Png);
            byte[] signature = { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
            Check.True(png.Length > signature.Length && png.Take(signature.Length).SequenceEqual(signature), "PNG signature");
            string svg = Encoding.UTF8.GetString(Qr.Render(link, QrFormat.Svg));
            Check.True(svg.Contains("<svg") && svg.TrimEnd().EndsWith("</svg>", StringComparison.Ordinal), "an SVG document");
            string text = Encoding.UTF8.GetString(Qr.Render(link, QrFormat.Text));
            Check.True(text.EndsWith("\n", StringComparison.Ordinal) && text.Trim('\u2580', '\u2584', '\u2588', ' ', '\n').Length == 0, "half blocks");
            byte[] native = Qr.Render(link, QrFormat.EscPosNative);
            Check.True(IndexOf(native, Encoding.UTF8.GetBytes(link)) >= 0, "GS ( k carries the UTF-8 text");
        }

        private static void QrRefusals()
        {
            Check.Throws<KlarnaBadRequestException>(() => Qr.Render("", QrFormat.Png), "empty text");
            var e = Check.Throws<KlarnaBadRequestException>(() => Qr.Render(new string('x', 2332), QrFormat.Png), "too long");
            Check.True(e.Message.Contains("2331"), "says the limit: " + e.Message);
            Check.Throws<KlarnaInvalidArgumentException>(() => Qr.Render("x", (QrFormat)9), "unknown format");
            Check.Throws<KlarnaInvalidArgumentException>(() => Qr.Render("a\0b", QrFormat.Svg), "NUL in the text");
            Check.Throws<ArgumentNullException>(() => Qr.Render(null, QrFormat.Svg), "null text");
        }

        private static void DisplayTexts()
        {
            Check.Equal("Preparing the Klarna payment...", SessionStatus.Created.DisplayText(), "created");
            Check.Equal("Preparing the Klarna payment...", SessionStatus.Waiting.DisplayText(), "waiting");
            Check.Equal("Scan the QR code with your phone", SessionStatus.Distributed.DisplayText(), "distributed");
            Check.Equal("Payment in progress", SessionStatus.Accessed.DisplayText(), "accessed");
            Check.Equal("Payment is done", SessionStatus.Completed.DisplayText(), "completed");
            Check.Equal("Payment is canceled", SessionStatus.Canceled.DisplayText(), "canceled");
            Check.Equal("Something went wrong", SessionStatus.Failed.DisplayText(), "failed");
            Check.Equal("The payment has expired", SessionStatus.Expired.DisplayText(), "expired");
            Check.Equal("Checking the payment status...", SessionStatus.Unknown.DisplayText(), "unknown");
        }

        // ---- webhooks ---------------------------------------------------------------------------

        private static string QueryParameter(string url, string name)
        {
            Match m = Regex.Match(url, "[?&]" + name + "=([^&]*)");
            Check.True(m.Success, name + " in " + url);
            return m.Groups[1].Value;
        }

        private static void VerifyWebhook()
        {
            using (var sim = new Simulator(simulatorBinary))
            {
                KlarnaConfig config = sim.Config();
                // Nothing listens there: the simulator's deliveries fail, and the test plays the
                // receiver by calling VerifyWebhook itself.
                config.WebhookUrl = "http://127.0.0.1:9/klarna/status";
                using (var client = new KlarnaClient(config))
                using (KlarnaSession session = client.CreateSession(Order()))
                {
                    Check.Equal(SessionStatus.Distributed, session.Poll(), "first poll");
                    string url = (string)sim.Session(session.Id)["callback_url"];
                    Check.True(url.StartsWith(config.WebhookUrl + "?kpos_ref=", StringComparison.Ordinal), "callback URL: " + url);
                    string reference = QueryParameter(url, "kpos_ref");
                    string token = QueryParameter(url, "kpos_token");
                    string forged = token.Substring(0, token.Length - 1) + (token.EndsWith("A", StringComparison.Ordinal) ? "B" : "A");
                    byte[] claim = Encoding.UTF8.GetBytes("{\"status\":\"COMPLETED\",\"order_id\":\"forged\"}");

                    var e = Check.Throws<KlarnaPermissionDeniedException>(
                        () => client.VerifyWebhook("/klarna/status?kpos_ref=" + reference + "&kpos_token=" + forged, claim), "forged token");
                    Check.True(!e.ToString().Contains(token) && !e.ToString().Contains(forged), "no token in the error");
                    Check.Throws<KlarnaPermissionDeniedException>(() => client.VerifyWebhook("/klarna/status?kpos_ref=" + reference, claim), "no token");
                    Check.Throws<KlarnaNotFoundException>(
                        () => client.VerifyWebhook("/klarna/status?kpos_ref=" + new string('0', 32) + "&kpos_token=" + token, claim), "unknown reference");
                    Check.Equal(SessionStatus.Distributed, session.Status, "nothing changed");
                    Check.Equal(null, session.OrderId, "no order");

                    byte[] payload = Encoding.UTF8.GetBytes("{\"status\":\"ACCESSED\",\"session_id\":\"" + session.Id + "\"}");
                    byte[] withNul = payload.Concat(Encoding.UTF8.GetBytes("\0garbage")).ToArray();
                    Check.Throws<KlarnaBadRequestException>(() => client.VerifyWebhook(url, withNul), "a NUL does not shorten the body");
                    Check.Throws<KlarnaPermissionDeniedException>(() => client.VerifyWebhook(url + "\0", payload), "a NUL after the token is part of it");
                    WebhookResult result = client.VerifyWebhook(url, payload);
                    Check.Equal(session.Id, result.SessionId, "session id");
                    Check.Equal(SessionStatus.Accessed, result.Status, "status after the callback");
                    Check.Equal(SessionStatus.Accessed, session.Status, "the session learned it");
                    Check.Throws<ArgumentNullException>(() => client.VerifyWebhook(url, null), "null body");
                }
            }
        }

        private static void VerifyWebhookWithSecret()
        {
            const string secret = "3b9f1e6c0a7d4285e1c6b0f9a3d72e5c8b4f1a6d0e9c3b7f2a5d8e1c4b7a0f3d";
            using (var sim = new Simulator(simulatorBinary))
            {
                KlarnaConfig tooShort = sim.Config();
                tooShort.WebhookSecret = secret.Substring(0, 62);
                var e = Check.Throws<KlarnaInvalidArgumentException>(() => new KlarnaClient(tooShort), "31 bytes");
                Check.Equal("webhook_secret", e.Field, "field");
                Check.True(!e.ToString().Contains(tooShort.WebhookSecret), "the secret is not quoted");

                KlarnaConfig tillConfig = sim.Config();
                tillConfig.WebhookUrl = "http://127.0.0.1:9/klarna/status?till=1";
                tillConfig.WebhookSecret = secret;
                KlarnaConfig receiverConfig = sim.Config();
                receiverConfig.WebhookSecret = secret;
                using (var till = new KlarnaClient(tillConfig))
                using (var receiver = new KlarnaClient(receiverConfig))
                using (KlarnaSession session = till.CreateSession(Order()))
                {
                    string url = (string)sim.Session(session.Id)["callback_url"];
                    byte[] claim = Encoding.UTF8.GetBytes("{\"status\":\"COMPLETED\",\"session_id\":\"" + session.Id + "\"}");
                    WebhookResult reported = receiver.VerifyWebhook(url, claim);
                    Check.Equal(session.Id, reported.SessionId, "session id at the receiver");
                    Check.Equal(SessionStatus.Completed, reported.Status, "the reported status, unconfirmed");
                    string forged = url.Substring(0, url.Length - 1) + (url.EndsWith("A", StringComparison.Ordinal) ? "B" : "A");
                    Check.Throws<KlarnaPermissionDeniedException>(() => receiver.VerifyWebhook(forged, claim), "forged token");
                    // Relayed to the till, the claim is checked with Klarna: still distributed.
                    WebhookResult applied = till.VerifyWebhook(url, claim);
                    Check.Equal(SessionStatus.Distributed, applied.Status, "the till confirmed with Klarna");
                    Check.Equal(SessionStatus.Distributed, session.Status, "not completed by a claim");
                }
            }
        }

        // ---- resources -------------------------------------------------------------------------

        private static void ManySessions()
        {
            WithClient((sim, client) =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    if (i % 2 == 0)
                    {
                        using (KlarnaSession session = client.CreateSession(Order()))
                            Check.True(session.Id.Length > 0, "id");
                    }
                    else
                    {
                        client.CreateSession(Order()); // dropped: the finalizer frees it
                    }
                }
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Check.Equal(1000L, sim.Number(sim.Stats(), "sessions_created"), "sessions created");
            });
        }
    }
}
