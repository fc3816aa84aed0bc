// Till.java: take one Klarna in-store payment from the command line, with the Java binding.
//
//   java Till ORDER.json [--timeout-ms N] [--short-code DIGITS] [--language TAG] [--verbose]
//   java Till --check [--verbose]
//
// Credentials and endpoint come from the environment (KLARNA_API_URL, KLARNA_USERNAME,
// KLARNA_PASSWORD). Progress goes to stdout as one `key=value` line per event, flushed at once
// so that a script can follow the payment live:
//
//   session_id=<id>
//   qr_url=<url>                  show this QR code to the customer
//   payment_link=<url>            (when Klarna gives one)
//   status=<STATUS>               on every change: DISTRIBUTED, ACCESSED, COMPLETED, ...
//   display=<text>                with --language: the cashier's text for the status
//   customer=<text>               with --language: the customer display's text
//   order_id=<id>                 when the payment COMPLETED
//   error=<KPOS_E_NAME> <message> correlation_id=<id-or-empty>
//
// Exit status: 0 COMPLETED; 2 CANCELED, FAILED or EXPIRED (also when --timeout-ms runs out: the
// till then cancels the session, as Klarna recommends); 1 any other library error; 64 a mistake
// on the command line. --check prints the health check's JSON report instead (exit 0 when every
// step passed, else 1); --verbose the library's debug log on stderr. Behaves exactly like
// examples/c/till.c.
//
// Build and run (docs/java.md):
//   bindings/java/build.sh target/java
//   javac -cp /usr/share/java/jna.jar:target/java/klarna-pos.jar -d target/java examples/java/Till.java
//   KLARNA_POS_LIBRARY=target/debug/libklarna_pos.so \
//       java -cp /usr/share/java/jna.jar:target/java/klarna-pos.jar:target/java Till examples/orders/se_coffee.json

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import klarnapos.HealthCheck;
import klarnapos.KlarnaClient;
import klarnapos.KlarnaConflictException;
import klarnapos.KlarnaException;
import klarnapos.KlarnaLibrary;
import klarnapos.KlarnaSession;
import klarnapos.KlarnaTimeoutException;
import klarnapos.LogLevel;
import klarnapos.SessionStatus;

public final class Till {
    private static final int EXIT_COMPLETED = 0;
    private static final int EXIT_LIBRARY_ERROR = 1;
    private static final int EXIT_NOT_PAID = 2;
    private static final int EXIT_USAGE = 64;

    // How long the till waits for the customer when --timeout-ms is not given.
    private static final long DEFAULT_TIMEOUT_MS = 120_000;

    private static final String USAGE =
            "usage: Till ORDER.json [--timeout-ms N] [--short-code DIGITS] [--language TAG] [--verbose]\n"
            + "       Till --check [--verbose]";

    // UTF-8 whatever the platform's default, flushed at every line.
    private static final PrintStream OUT = new PrintStream(
            new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

    private static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    private Till() {
    }

    /** One key=value line, flushed at once: scripts read the output while it runs. */
    private static void emit(String key, String value) {
        OUT.print(key + "=" + value + "\n");
        OUT.flush();
    }

    /** The text with control characters as spaces, so that an error stays on its line. */
    private static String oneLine(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (char c : text.toCharArray()) {
            sb.append(c < ' ' ? ' ' : c);
        }
        return sb.toString();
    }

    /** The error= line: code name, message, and the correlation id for Klarna support. */
    private static void reportError(KlarnaException e) {
        String correlationId = e.correlationId() == null ? "" : e.correlationId();
        emit("error", e.name() + " " + oneLine(e.getMessage()) + " correlation_id=" + correlationId);
    }

    /** --check: the report on stdout, then an error= line when a step failed. */
    private static int runCheck() {
        try (KlarnaClient client = KlarnaClient.fromEnvironment()) {
            HealthCheck check = client.check();
            OUT.print(check.reportJson() + "\n");
            OUT.flush();
            if (check.passed()) {
                return EXIT_COMPLETED;
            }
            emit("error", check.codeName() + " health check failed (see the report) correlation_id=");
            return EXIT_LIBRARY_ERROR;
        } catch (KlarnaException e) {
            reportError(e);
            return EXIT_LIBRARY_ERROR;
        }
    }

    private static boolean allDigits(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (char c : s.toCharArray()) {
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    /** The parsed command line. */
    private static final class Options {
        String orderPath;
        long timeoutMs = DEFAULT_TIMEOUT_MS;
        String shortCode;
        String language;
    }

    private static Options parseArgs(List<String> args) throws UsageException {
        Options o = new Options();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--timeout-ms") || arg.equals("--short-code") || arg.equals("--language")) {
                if (i + 1 >= args.size()) {
                    throw new UsageException(USAGE);
                }
                String value = args.get(++i);
                if (arg.equals("--timeout-ms")) {
                    if (!allDigits(value) || value.length() > 10 || Long.parseLong(value) > 0xffffffffL) {
                        throw new UsageException("Till: --timeout-ms needs a number of milliseconds");
                    }
                    o.timeoutMs = Long.parseLong(value);
                } else if (arg.equals("--short-code")) {
                    if (!allDigits(value) || value.length() > 32) {
                        throw new UsageException("Till: --short-code needs the digits the customer read out");
                    }
                    o.shortCode = value;
                } else {
                    o.language = value;
                }
            } else if (arg.startsWith("-") || o.orderPath != null) {
                throw new UsageException(USAGE);
            } else {
                o.orderPath = arg;
            }
        }
        if (o.orderPath == null) {
            throw new UsageException(USAGE);
        }
        return o;
    }

    private static int skipSpace(String text, int at) {
        while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) {
            at++;
        }
        return at;
    }

    /**
     * The order with distribution.short_code set, for the static-QR flow where the customer
     * reads a code from the store's printed QR (the library checks the 2-20 digit rule). Plain
     * text surgery, which is why the short code must be digits only. Refuses an order that has
     * a short code already or a distribution that is not an object; a text that is not a JSON
     * object goes to the library unchanged, which reports it.
     */
    private static String withShortCode(String order, String digits) throws UsageException {
        if (order.contains("\"short_code\"")) {
            throw new UsageException("has a short_code already; drop it or --short-code");
        }
        int at = -1;
        boolean insideDistribution = false;
        int key = order.indexOf("\"distribution\"");
        if (key >= 0) {
            // The key only counts when a ':' follows it.
            int p = skipSpace(order, key + "\"distribution\"".length());
            if (p < order.length() && order.charAt(p) == ':') {
                p = skipSpace(order, p + 1);
                if (p >= order.length() || order.charAt(p) != '{') {
                    throw new UsageException("has a distribution that is not an object");
                }
                insideDistribution = true;
                at = p + 1;
            }
        }
        if (at < 0) {
            int first = skipSpace(order, 0);
            if (first >= order.length() || order.charAt(first) != '{') {
                return order;
            }
            at = first + 1;
        }
        int next = skipSpace(order, at);
        String separator = next < order.length() && order.charAt(next) == '}' ? "" : ",";
        String member = insideDistribution
                ? "\"short_code\":\"" + digits + "\"" + separator
                : "\"distribution\":{\"short_code\":\"" + digits + "\"}" + separator;
        return order.substring(0, at) + member + order.substring(at);
    }

    /** Prints whatever became known: the QR code and payment link once the session is
     * distributed (before its status line, so the cashier's screen can show it), then the
     * status when it changed. */
    private static final class Progress {
        private final KlarnaSession session;
        private final String language;
        private SessionStatus shown = SessionStatus.CREATED; // CREATED is local, nothing to show
        private boolean qrShown;

        Progress(KlarnaSession session, String language) {
            this.session = session;
            this.language = language;
        }

        void report(SessionStatus status) {
            if (!qrShown && session.qrUrl() != null) {
                emit("qr_url", session.qrUrl());
                if (session.paymentLink() != null) {
                    emit("payment_link", session.paymentLink());
                }
                qrShown = true;
            }
            if (status != shown) {
                emit("status", status.nativeName());
                if (language != null) {
                    emit("display", status.displayText(language));
                    emit("customer", status.customerText(language));
                }
                shown = status;
            }
        }
    }

    /** The exit status for a session that reached a terminal status, printing its outcome. */
    private static int finish(KlarnaSession session, SessionStatus status) {
        if (status == SessionStatus.COMPLETED) {
            // The order is placed: keep the order id for capture, refund or cancel later.
            String orderId = session.orderId();
            emit("order_id", orderId == null ? "" : orderId);
            return EXIT_COMPLETED;
        }
        if (status == SessionStatus.FAILED) {
            // BAD_REQUEST, PERMISSION_DENIED or UNKNOWN, with Klarna's detail.
            KlarnaException failure = session.failure();
            if (failure != null) {
                reportError(failure);
            }
        }
        return EXIT_NOT_PAID;
    }

    /** Follows the session until it is terminal or the till's own deadline passes. Klarna
     * advises a POS to give up after a time of its choosing and cancel actively, so a customer
     * cannot pay for a sale the till has abandoned. */
    private static int follow(KlarnaSession session, long timeoutMs, String language) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        Progress progress = new Progress(session, language);
        for (;;) {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                break;
            }
            SessionStatus status;
            try {
                // Blocks until the status changes; polling and back-off happen inside the library.
                status = session.await(Duration.ofNanos(remaining));
            } catch (KlarnaTimeoutException e) {
                progress.report(e.lastStatus() != null ? e.lastStatus() : session.status());
                break;
            } catch (KlarnaException e) {
                reportError(e);
                // Giving up: make sure the customer can no longer pay this session.
                try {
                    session.cancel();
                } catch (KlarnaException ignored) {
                    // The error above is what the till reports.
                }
                return EXIT_LIBRARY_ERROR;
            }
            progress.report(status);
            if (status.isTerminal()) {
                return finish(session, status);
            }
        }

        // Out of time: cancel. If the customer completed the payment meanwhile, Klarna refuses
        // the cancel with a conflict and the session reports COMPLETED: the sale is paid.
        try {
            session.cancel();
        } catch (KlarnaConflictException e) {
            // Completed first: reported below.
        } catch (KlarnaException e) {
            reportError(e);
            return EXIT_LIBRARY_ERROR;
        }
        progress.report(session.status());
        return finish(session, session.status());
    }

    private static String readUtf8(String path) throws UsageException {
        try {
            byte[] bytes = Files.readAllBytes(Paths.get(path));
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new UsageException("Till: " + path + " is not UTF-8 text");
        } catch (IOException | RuntimeException e) {
            throw new UsageException("Till: cannot read " + path + ": " + e);
        }
    }

    private static int run(String[] argv) {
        List<String> args = new ArrayList<>(List.of(argv));
        if (args.removeIf(a -> a.equals("--verbose"))) {
            KlarnaLibrary.setLogListener((level, message) -> System.err.println(level + " " + message), LogLevel.DEBUG);
        }
        if (args.contains("--check")) {
            if (args.size() != 1) {
                System.err.println(USAGE);
                return EXIT_USAGE;
            }
            return runCheck();
        }
        Options options;
        String order;
        try {
            options = parseArgs(args);
            order = readUtf8(options.orderPath);
            if (options.shortCode != null) {
                try {
                    order = withShortCode(order, options.shortCode);
                } catch (UsageException e) {
                    throw new UsageException("Till: " + options.orderPath + " " + e.getMessage());
                }
            }
        } catch (UsageException e) {
            System.err.println(e.getMessage());
            return EXIT_USAGE;
        }

        // Endpoint and credentials from KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD. A real
        // till creates one client at start-up and shares it.
        try (KlarnaClient client = KlarnaClient.fromEnvironment();
             // Validated locally first: nothing is sent when a field is wrong, and the error
             // names the field (e.g. order_lines[1].total_tax_amount).
             KlarnaSession session = client.createSession(order)) {
            // Keep the id (and session.resultUrl()) so that a restarted till can resume.
            emit("session_id", session.id());
            return follow(session, options.timeoutMs, options.language);
        } catch (KlarnaException e) {
            reportError(e);
            return EXIT_LIBRARY_ERROR;
        }
    }

    public static void main(String[] argv) {
        int code = run(argv);
        OUT.flush();
        System.exit(code);
    }
}
