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
            Test("version equals the header's", Version),
            Test("a thousand sessions are released by Dispose and by the finalizer", ManySessions),
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
                    var recorded = (IDictionary<string, object>)Json.Parse(Encoding.UTF8.GetString(raw));
                    string body = (string)recorded["request_body"];
                    byte[] expected = Encoding.UTF8.GetBytes("\"name\":\"" + NonAsciiName + "\"");
                    byte[] sent = Encoding.UTF8.GetBytes(body);
                    Check.True(IndexOf(sent, expected) >= 0, "the request body holds the name's UTF-8 bytes: " + body);
                    var lines = (IList<object>)((IDictionary<string, object>)Json.Parse(body))["order_lines"];
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
            var cases = (IList<object>)Json.Parse(ReadText("tests/data/invalid_orders.json"));
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
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var error = Check.Throws<KlarnaCancelledException>(() => session.Wait(TimeSpan.FromSeconds(10)), "Wait during Cancel");
                    Check.True(clock.Elapsed < TimeSpan.FromSeconds(5), "released promptly: " + clock.Elapsed);
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
                    }
                });
            }
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
