// The simulator (klarna-pos-sim) as a test fixture: a process on a free loopback port, its
// control endpoints (/_sim/...) as method calls.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Text;
using System.Threading;
using KlarnaPos;

namespace KlarnaPosTests
{
    internal sealed class Simulator : IDisposable
    {
        internal const string User = "test_user";
        internal const string Password = "test_password";

        private readonly Process process;

        internal string Url { get; private set; }

        internal Simulator(string binary)
        {
            var start = new ProcessStartInfo(binary,
                "--listen 127.0.0.1:0 --username " + User + " --password " + Password +
                " --customer manual --exit-on-stdin-eof")
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true, // its request log; read and dropped
            };
            process = Process.Start(start);
            process.ErrorDataReceived += (sender, line) => { };
            process.BeginErrorReadLine();
            string first = process.StandardOutput.ReadLine() ?? "";
            const string prefix = "listening on ";
            if (!first.StartsWith(prefix, StringComparison.Ordinal))
            {
                Dispose();
                throw new InvalidOperationException("the simulator did not start: " + first);
            }
            Url = first.Substring(prefix.Length).Trim();
        }

        internal KlarnaConfig Config(string password = Password)
        {
            return new KlarnaConfig
            {
                ApiUrl = Url,
                Username = User,
                Password = password,
                UserAgent = "klarna-pos-dotnet-tests/1.0",
                PollIntervalMs = 100,
            };
        }

        /// <summary>One control request: the HTTP status and the answer's raw UTF-8 bytes.</summary>
        internal int Request(string method, string path, string body, out byte[] answer)
        {
            var request = (HttpWebRequest)WebRequest.Create(Url + path);
            request.Method = method;
            request.Proxy = null;
            request.Timeout = 10000;
            if (body != null)
            {
                byte[] data = Encoding.UTF8.GetBytes(body);
                request.ContentType = "application/json";
                request.ContentLength = data.Length;
                using (Stream s = request.GetRequestStream())
                    s.Write(data, 0, data.Length);
            }
            HttpWebResponse response;
            try
            {
                response = (HttpWebResponse)request.GetResponse();
            }
            catch (WebException e)
            {
                response = e.Response as HttpWebResponse;
                if (response == null)
                    throw;
            }
            using (response)
            using (Stream s = response.GetResponseStream())
            using (var copy = new MemoryStream())
            {
                s.CopyTo(copy);
                answer = copy.ToArray();
                return (int)response.StatusCode;
            }
        }

        internal IDictionary<string, object> Get(string path)
        {
            byte[] raw;
            int status = Request("GET", path, null, out raw);
            Check.Equal(200, status, "GET " + path);
            return (IDictionary<string, object>)JsonReader.Parse(Encoding.UTF8.GetString(raw));
        }

        internal IDictionary<string, object> Session(string id)
        {
            return Get("/_sim/sessions/" + id);
        }

        internal IDictionary<string, object> Stats()
        {
            return Get("/_sim/stats");
        }

        /// <summary>The customer's side: scan, approve ({"order_id"}), cancel, fail ({"code"}), expire.</summary>
        internal void Customer(string id, string action, string body = "{}")
        {
            byte[] raw;
            int status = Request("POST", "/_sim/sessions/" + id + "/" + action, body, out raw);
            Check.Equal(200, status, action + ": " + Encoding.UTF8.GetString(raw));
        }

        internal void Fault(string ruleJson)
        {
            byte[] raw;
            int status = Request("POST", "/_sim/faults", ruleJson, out raw);
            Check.Equal(200, status, "fault " + ruleJson);
        }

        internal long Number(IDictionary<string, object> obj, string key)
        {
            return Convert.ToInt64(obj[key], CultureInfo.InvariantCulture);
        }

        /// <summary>Polls <paramref name="condition"/> until it holds; fails after 10 s.</summary>
        internal static void WaitUntil(Func<bool> condition, string what)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(10))
                    throw new Exception("timed out waiting until " + what);
                Thread.Sleep(10);
            }
        }

        public void Dispose()
        {
            try
            {
                if (!process.HasExited)
                    process.Kill();
                process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
            }
            process.Dispose();
        }
    }
}
