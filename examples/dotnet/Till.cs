// Till.cs: take one Klarna in-store payment from the command line, with the KlarnaPos assembly.
//
//   mono Till.exe ORDER.json [--timeout-ms N] [--short-code DIGITS] [--verbose]
//   mono Till.exe --check [--verbose]
//
// Credentials and endpoint come from the environment (KLARNA_API_URL, KLARNA_USERNAME,
// KLARNA_PASSWORD). Progress goes to stdout as one `key=value` line per event, flushed at once
// so that a script can follow the payment live:
//
//   session_id=<id>
//   qr_url=<url>                  show this QR code to the customer
//   payment_link=<url>            (when Klarna gives one)
//   status=<STATUS>               on every change: DISTRIBUTED, ACCESSED, COMPLETED, ...
//   order_id=<id>                 when the payment COMPLETED
//   error=<KPOS_E_NAME> <message> correlation_id=<id-or-empty>
//
// Exit status: 0 COMPLETED; 2 CANCELED, FAILED or EXPIRED (also when --timeout-ms runs out: the
// till then cancels the session, as Klarna recommends); 1 any other library error; 64 a mistake
// on the command line. --check prints the health check's JSON report instead (exit 0 when every
// step passed, else 1); --verbose the library's debug log on stderr (through the TraceSource
// "KlarnaPos"). Behaves exactly like examples/c/till.c and examples/python/till.py.
//
// Build and run (see bindings/dotnet/build.sh):
//   bindings/dotnet/build.sh target/dotnet target/debug/libklarna_pos.so
//   mcs -out:target/dotnet/Till.exe -r:target/dotnet/KlarnaPos.dll examples/dotnet/Till.cs
//   mono target/dotnet/Till.exe examples/orders/se_coffee.json

using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using KlarnaPos;

internal static class Till
{
    private const int ExitCompleted = 0;
    private const int ExitLibraryError = 1;
    private const int ExitNotPaid = 2;
    private const int ExitUsage = 64;

    // How long the till waits for the customer when --timeout-ms is not given.
    private const uint DefaultTimeoutMs = 120000;

    private const string Usage = "usage: Till.exe ORDER.json [--timeout-ms N] [--short-code DIGITS] [--verbose]\n" +
        "       Till.exe --check [--verbose]";

    /// <summary>--check: the report on stdout, then an error= line when a step failed.</summary>
    private static int RunCheck()
    {
        try
        {
            using (KlarnaClient client = KlarnaClient.FromEnvironment())
            {
                uint code;
                string report = client.Check(out code);
                Out.WriteLine(report);
                if (code == 0)
                    return ExitCompleted;
                Out.WriteLine("error=" + KlarnaLibrary.ResultName(code) + " health check failed (see the report) correlation_id=");
                return ExitLibraryError;
            }
        }
        catch (KlarnaException e)
        {
            ReportError(e);
            return ExitLibraryError;
        }
    }

    private static readonly TextWriter Out = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };

    private sealed class UsageException : Exception
    {
        internal UsageException(string message) : base(message) { }
    }

    /// <summary>One key=value line, flushed at once: scripts read the output while it runs.</summary>
    private static void Emit(string key, string value)
    {
        Out.WriteLine(key + "=" + value);
    }

    /// <summary>The text with control characters as spaces, so that an error stays on its line.</summary>
    private static string OneLine(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
            sb.Append(c < ' ' ? ' ' : c);
        return sb.ToString();
    }

    /// <summary>The error= line: code name, message, and the correlation id for Klarna support.</summary>
    private static void ReportError(KlarnaException e)
    {
        Out.WriteLine("error=" + e.Name + " " + OneLine(e.Message) + " correlation_id=" + (e.CorrelationId ?? ""));
    }

    private static bool AllDigits(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (char c in s)
            if (c < '0' || c > '9')
                return false;
        return true;
    }

    private static void ParseArgs(string[] args, out string orderPath, out uint timeoutMs, out string shortCode)
    {
        orderPath = null;
        timeoutMs = DefaultTimeoutMs;
        shortCode = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg == "--timeout-ms" || arg == "--short-code")
            {
                if (i + 1 >= args.Length)
                    throw new UsageException(Usage);
                string value = args[++i];
                if (arg == "--timeout-ms")
                {
                    if (!AllDigits(value) || value.Length > 10 || ulong.Parse(value) > uint.MaxValue)
                        throw new UsageException("Till.exe: --timeout-ms needs a number of milliseconds");
                    timeoutMs = uint.Parse(value);
                }
                else
                {
                    if (!AllDigits(value) || value.Length > 32)
                        throw new UsageException("Till.exe: --short-code needs the digits the customer read out");
                    shortCode = value;
                }
            }
            else if (arg.StartsWith("-", StringComparison.Ordinal) || orderPath != null)
            {
                throw new UsageException(Usage);
            }
            else
            {
                orderPath = arg;
            }
        }
        if (orderPath == null)
            throw new UsageException(Usage);
    }

    private static int SkipSpace(string text, int at)
    {
        while (at < text.Length && (text[at] == ' ' || text[at] == '\t' || text[at] == '\r' || text[at] == '\n'))
            at++;
        return at;
    }

    /// <summary>The order with distribution.short_code set, for the static-QR flow where the
    /// customer reads a code from the store's printed QR (the library checks the 2-20 digit
    /// rule). Plain text surgery, which is why the short code must be digits only. Refuses an
    /// order that has a short code already or a distribution that is not an object; a text that
    /// is not a JSON object goes to the library unchanged, which reports it.</summary>
    private static string WithShortCode(string order, string digits)
    {
        if (order.Contains("\"short_code\""))
            throw new UsageException("has a short_code already; drop it or --short-code");
        int at = -1;
        bool insideDistribution = false;
        int key = order.IndexOf("\"distribution\"", StringComparison.Ordinal);
        if (key >= 0)
        {
            // The key only counts when a ':' follows it.
            int p = SkipSpace(order, key + "\"distribution\"".Length);
            if (p < order.Length && order[p] == ':')
            {
                p = SkipSpace(order, p + 1);
                if (p >= order.Length || order[p] != '{')
                    throw new UsageException("has a distribution that is not an object");
                insideDistribution = true;
                at = p + 1;
            }
        }
        if (at < 0)
        {
            int first = SkipSpace(order, 0);
            if (first >= order.Length || order[first] != '{')
                return order;
            at = first + 1;
        }
        int next = SkipSpace(order, at);
        string separator = next < order.Length && order[next] == '}' ? "" : ",";
        string member = insideDistribution
            ? "\"short_code\":\"" + digits + "\"" + separator
            : "\"distribution\":{\"short_code\":\"" + digits + "\"}" + separator;
        return order.Substring(0, at) + member + order.Substring(at);
    }

    /// <summary>Prints whatever became known: the QR code and payment link once the session is
    /// distributed (before its status line, so the cashier's screen can show it), then the
    /// status when it changed.</summary>
    private sealed class Progress
    {
        private readonly KlarnaSession session;
        private SessionStatus shown = SessionStatus.Created; // CREATED is local, nothing to show
        private bool qrShown;

        internal Progress(KlarnaSession session)
        {
            this.session = session;
        }

        internal void Report(SessionStatus status)
        {
            if (!qrShown && session.QrUrl != null)
            {
                Emit("qr_url", session.QrUrl);
                if (session.PaymentLink != null)
                    Emit("payment_link", session.PaymentLink);
                qrShown = true;
            }
            if (status != shown)
            {
                Emit("status", status.ToNativeName());
                shown = status;
            }
        }
    }

    /// <summary>The exit status for a session that reached a terminal status, printing its outcome.</summary>
    private static int Finish(KlarnaSession session, SessionStatus status)
    {
        if (status == SessionStatus.Completed)
        {
            // The order is placed: keep the order id for capture, refund or cancel later.
            Emit("order_id", session.OrderId ?? "");
            return ExitCompleted;
        }
        if (status == SessionStatus.Failed)
        {
            // BadRequest, PermissionDenied or Unknown, with Klarna's detail.
            KlarnaException failure = session.Failure;
            if (failure != null)
                ReportError(failure);
        }
        return ExitNotPaid;
    }

    /// <summary>Follows the session until it is terminal or the till's own deadline passes.
    /// Klarna advises a POS to give up after a time of its choosing and cancel actively, so a
    /// customer cannot pay for a sale the till has abandoned.</summary>
    private static int Follow(KlarnaSession session, uint timeoutMs)
    {
        var clock = Stopwatch.StartNew();
        var progress = new Progress(session);
        for (;;)
        {
            double remaining = timeoutMs - clock.Elapsed.TotalMilliseconds;
            if (remaining <= 0)
                break;
            SessionStatus status;
            try
            {
                // Blocks until the status changes; polling and back-off happen inside the library.
                status = session.Wait(TimeSpan.FromMilliseconds(remaining));
            }
            catch (KlarnaTimeoutException e)
            {
                progress.Report(e.LastStatus ?? session.Status);
                break;
            }
            catch (KlarnaException e)
            {
                ReportError(e);
                // Giving up: make sure the customer can no longer pay this session.
                try
                {
                    session.Cancel();
                }
                catch (KlarnaException)
                {
                }
                return ExitLibraryError;
            }
            progress.Report(status);
            if (status.IsTerminal())
                return Finish(session, status);
        }

        // Out of time: cancel. If the customer completed the payment meanwhile, Klarna refuses
        // the cancel with a conflict and the session reports COMPLETED: the sale is paid.
        try
        {
            session.Cancel();
        }
        catch (KlarnaConflictException)
        {
        }
        catch (KlarnaException e)
        {
            ReportError(e);
            return ExitLibraryError;
        }
        progress.Report(session.Status);
        return Finish(session, session.Status);
    }

    private static int Main(string[] args)
    {
        string orderPath, shortCode, order;
        uint timeoutMs;
        if (Array.IndexOf(args, "--verbose") >= 0)
        {
            args = Array.FindAll(args, a => a != "--verbose");
            KlarnaLibrary.Log.Switch.Level = SourceLevels.Verbose;
            KlarnaLibrary.Log.Listeners.Add(new ConsoleTraceListener(true));
        }
        if (Array.IndexOf(args, "--check") >= 0)
        {
            if (args.Length != 1)
            {
                Console.Error.WriteLine(Usage);
                return ExitUsage;
            }
            return RunCheck();
        }
        try
        {
            ParseArgs(args, out orderPath, out timeoutMs, out shortCode);
            try
            {
                order = File.ReadAllText(orderPath, new UTF8Encoding(false));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is NotSupportedException)
            {
                throw new UsageException("Till.exe: cannot read " + orderPath + ": " + e.Message);
            }
            if (shortCode != null)
            {
                try
                {
                    order = WithShortCode(order, shortCode);
                }
                catch (UsageException e)
                {
                    throw new UsageException("Till.exe: " + orderPath + " " + e.Message);
                }
            }
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine(e.Message);
            return ExitUsage;
        }

        try
        {
            // Endpoint and credentials from KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD.
            // A real till creates one client at start-up and shares it.
            using (KlarnaClient client = KlarnaClient.FromEnvironment())
            // Validated locally first: nothing is sent when a field is wrong, and the error
            // names the field (e.g. order_lines[1].total_tax_amount).
            using (KlarnaSession session = client.CreateSession(order))
            {
                // Keep the id (and session.ResultUrl) so that a restarted till can resume.
                Emit("session_id", session.Id);
                return Follow(session, timeoutMs);
            }
        }
        catch (KlarnaException e)
        {
            ReportError(e);
            return ExitLibraryError;
        }
    }
}
