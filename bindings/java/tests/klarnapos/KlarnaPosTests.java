// The Java binding against the simulator: the payment flow, UTF-8 both ways, every exception
// class with its detail, timeout, cancel from another thread waking an await, status events,
// Order Management, QR codes, display texts, webhook verification, and agreement with the C
// header and the documentation; a library of another major version is refused.
//
//   java -cp JNA:klarna-pos.jar:TESTS klarnapos.KlarnaPosTests REPOSITORY_ROOT KLARNA_POS_SIM
//
// Prints "ok - <test>" or "not ok - <test>: <why>" per test, then "N passed, M failed"; exits 1
// when a test failed. The library is found as the binding documents (KLARNA_POS_LIBRARY).

package klarnapos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class KlarnaPosTests {
    private static Path root;
    private static String simulatorBinary;

    private interface Test {
        void run() throws Exception;
    }

    private interface WithClient {
        void run(Simulator sim, KlarnaClient client) throws Exception;
    }

    private KlarnaPosTests() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("--version-probe")) {
            versionProbe();
            return;
        }
        if (args.length != 2) {
            System.err.println("usage: KlarnaPosTests REPOSITORY_ROOT KLARNA_POS_SIM");
            System.exit(64);
        }
        root = Paths.get(args[0]);
        simulatorBinary = args[1];
        Map<String, Test> tests = new LinkedHashMap<>();
        tests.put("full payment flow", KlarnaPosTests::fullPaymentFlow);
        tests.put("non-ASCII order text reaches Klarna byte-exact as UTF-8", KlarnaPosTests::orderTextIsUtf8);
        tests.put("non-ASCII text in an error message comes back intact", KlarnaPosTests::errorTextIsUtf8);
        tests.put("every invalid order is a bad request naming its field", KlarnaPosTests::badRequestNamesTheField);
        tests.put("wrong password is permission denied with every detail", KlarnaPosTests::wrongPassword);
        tests.put("Klarna's error code, HTTP status and correlation id of a refused refund", KlarnaPosTests::orderManagementConflicts);
        tests.put("check passes with right credentials and names wrong ones", KlarnaPosTests::healthCheck);
        tests.put("bad configuration is invalid argument naming the key", KlarnaPosTests::badConfiguration);
        tests.put("a NUL or a lone surrogate in a string argument is invalid argument", KlarnaPosTests::badStrings);
        tests.put("await without change throws the timeout with the last status", KlarnaPosTests::awaitTimeout);
        tests.put("cancel from another thread wakes await with cancelled", KlarnaPosTests::cancelFromAnotherThread);
        tests.put("cancel after completion is a conflict", KlarnaPosTests::cancelAfterCompletion);
        tests.put("Klarna's failures raise their classes", KlarnaPosTests::klarnaSideFailures);
        tests.put("a failed session reports its failure without throwing", KlarnaPosTests::failureProperty);
        tests.put("a resumed session reads the same payment", KlarnaPosTests::resumedSession);
        tests.put("fromEnvironment reads the KLARNA variables", KlarnaPosTests::fromEnvironment);
        tests.put("a closed session refuses calls; a session outlives its closed client", KlarnaPosTests::closedHandles);
        tests.put("the log listener receives the library's lines", KlarnaPosTests::logListener);
        tests.put("statuses, actions, QR formats and log levels have the header's numbers", KlarnaPosTests::headerNumbers);
        tests.put("every result code of the header has its exception class", KlarnaPosTests::exceptionClasses);
        tests.put("version equals the header's and Cargo.toml's", KlarnaPosTests::version);
        tests.put("a library of another major version is refused at load", KlarnaPosTests::otherMajorRefused);
        tests.put("getOrder returns Klarna's order JSON", KlarnaPosTests::getOrder);
        tests.put("capture, then refunds: a refund repeated with its key is booked once", KlarnaPosTests::captureAndRefund);
        tests.put("capture and refund bodies are checked before anything is sent", KlarnaPosTests::orderBodiesChecked);
        tests.put("journalPending lists a session until it is terminal", KlarnaPosTests::journalPending);
        tests.put("Qr.render draws every format", KlarnaPosTests::qrEveryFormat);
        tests.put("Qr.render refuses empty text, too long text and unknown formats", KlarnaPosTests::qrRefusals);
        tests.put("display texts are docs/events.md's tables", KlarnaPosTests::displayTexts);
        tests.put("watch hears every status in order, the last one final", KlarnaPosTests::watchInOrder);
        tests.put("cancel ends a watch after its final CANCELED call", KlarnaPosTests::watchEndsOnCancel);
        tests.put("the store's day: historyReport counts and sums exactly", KlarnaPosTests::storesDay);
        tests.put("historyFind answers \"was it paid?\" after a lost answer", KlarnaPosTests::findAfterLostAnswer);
        tests.put("receiptText: the receipt lines of a completed payment", KlarnaPosTests::receiptText);
        tests.put("verifyWebhook accepts the genuine token and refuses a forged one", KlarnaPosTests::verifyWebhook);
        int passed = 0;
        int failed = 0;
        for (Map.Entry<String, Test> t : tests.entrySet()) {
            try {
                t.getValue().run();
                System.out.println("ok - " + t.getKey());
                passed++;
            } catch (Throwable e) {
                System.out.println("not ok - " + t.getKey() + ": " + e);
                e.printStackTrace(System.out);
                failed++;
            }
        }
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }

    // ---- fixtures ---------------------------------------------------------------------------

    private static String readText(String relative) throws IOException {
        return new String(Files.readAllBytes(root.resolve(relative)), StandardCharsets.UTF_8);
    }

    private static String order() throws IOException {
        return readText("tests/data/valid_orders/se_vat_discount.json");
    }

    private static void withClient(WithClient body) throws Exception {
        try (Simulator sim = new Simulator(simulatorBinary); KlarnaClient client = new KlarnaClient(sim.config())) {
            body.run(sim, client);
        }
    }

    /** {"NAME": number} for every `#define PREFIXNAME number` of the C header. */
    private static Map<String, Integer> headerDefines(String prefix) throws IOException {
        Map<String, Integer> found = new LinkedHashMap<>();
        Matcher m = Pattern.compile("^#define " + prefix + "(\\w+) (\\d+)$", Pattern.MULTILINE)
                .matcher(readText("include/klarna_pos.h"));
        while (m.find()) {
            found.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        Check.isTrue(!found.isEmpty(), "defines " + prefix + "* read");
        return found;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Object value) {
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object value) {
        return (List<Object>) value;
    }

    /** JSON text of a value from JsonReader (orders of tests/data, re-serialised). */
    private static String toJson(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Boolean || value instanceof Long || value instanceof java.math.BigInteger) {
            return value.toString();
        }
        if (value instanceof Double) {
            return value.toString(); // keeps a float a float: 100.0
        }
        if (value instanceof String) {
            return Json.quote((String) value);
        }
        StringBuilder sb = new StringBuilder();
        if (value instanceof Map) {
            sb.append('{');
            for (Map.Entry<String, Object> e : object(value).entrySet()) {
                if (sb.length() > 1) {
                    sb.append(',');
                }
                sb.append(Json.quote(e.getKey())).append(':').append(toJson(e.getValue()));
            }
            return sb.append('}').toString();
        }
        sb.append('[');
        for (Object item : list(value)) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append(toJson(item));
        }
        return sb.append(']').toString();
    }

    // ---- the payment flow -------------------------------------------------------------------

    private static void fullPaymentFlow() throws Exception {
        withClient((sim, client) -> {
            try (KlarnaSession session = client.createSession(order())) {
                Check.isTrue(!session.id().isEmpty(), "a session id");
                Check.isTrue(session.resultUrl().startsWith(sim.url), "result_url at the simulator");
                Check.equal(SessionStatus.CREATED, session.status(), "status before the first poll");
                Check.equal(null, session.qrUrl(), "no QR before the first poll");

                Check.equal(SessionStatus.DISTRIBUTED, session.poll(), "first poll");
                Check.isTrue(session.qrUrl().contains(session.id()), "QR URL names the session");
                Check.isTrue(session.paymentLink().contains(session.id()), "payment link names the session");
                Check.equal(null, session.failure(), "no failure");

                sim.customer(session.id(), "scan", null);
                Check.equal(SessionStatus.ACCESSED, session.await(Duration.ofSeconds(10)), "after scan");
                sim.customer(session.id(), "approve", "{\"order_id\":\"ORDER-JAVA-0001\"}");
                Check.equal(SessionStatus.COMPLETED, session.await(Duration.ofSeconds(10)), "after approve");
                Check.isTrue(session.status().isTerminal(), "COMPLETED is terminal");
                Check.equal("COMPLETED", session.status().nativeName(), "native name");
                Check.equal("ORDER-JAVA-0001", session.orderId(), "order id");
                Check.equal("COMPLETED", sim.session(session.id()).get("status"), "simulator status");
            }
        });
    }

    private static final String NON_ASCII_NAME = "Kaffee – Größe L 🙂";

    private static void orderTextIsUtf8() throws Exception {
        String order = order().replace("Kaffebönor Mellanrost 500 g", NON_ASCII_NAME);
        Check.isTrue(order.contains(NON_ASCII_NAME), "the order carries the name");
        withClient((sim, client) -> {
            try (KlarnaSession session = client.createSession(order)) {
                String body = (String) sim.session(session.id()).get("request_body");
                Check.isTrue(body.contains("\"" + NON_ASCII_NAME + "\""), "the request body holds the name: " + body);
                List<Object> lines = list(object(JsonReader.parse(body)).get("order_lines"));
                Check.equal(NON_ASCII_NAME, object(lines.get(0)).get("name"), "name as Klarna read it");
            }
        });
    }

    private static void errorTextIsUtf8() throws Exception {
        withClient((sim, client) -> {
            String order = order().replace("\"SEK\"", "\"KRÖ\"");
            KlarnaBadRequestException e = Check.throwsExactly(KlarnaBadRequestException.class,
                    () -> client.createSession(order), "currency KRÖ");
            Check.equal("purchase_currency", e.field(), "field");
            Check.isTrue(e.getMessage().contains("KRÖ"), "message keeps the text: " + e.getMessage());
        });
    }

    // ---- exceptions -------------------------------------------------------------------------

    private static void badRequestNamesTheField() throws Exception {
        List<Object> cases = list(JsonReader.parse(readText("tests/data/invalid_orders.json")));
        Check.isTrue(cases.size() > 10, "the invalid orders are read");
        withClient((sim, client) -> {
            for (Object item : cases) {
                Map<String, Object> c = object(item);
                String name = (String) c.get("name");
                KlarnaBadRequestException e = Check.throwsExactly(KlarnaBadRequestException.class,
                        () -> client.createSession(toJson(c.get("order"))), name);
                Check.equal(c.get("field"), e.field(), name + " field");
                Check.equal(10, e.code(), name + " code");
                Check.equal("KPOS_E_BAD_REQUEST", e.name(), name + " name");
                Check.equal(KlarnaAction.FIX_INPUT, e.action(), name + " action");
                Check.isTrue(e.getMessage().contains(e.field()), name + " message names the field");
                Check.equal(null, e.httpStatus(), name + " no HTTP status");
                Check.equal(null, e.correlationId(), name + " no correlation id");
            }
            Check.equal(0L, Simulator.number(sim.stats(), "create_requests"), "nothing was sent");
        });
    }

    private static void wrongPassword() throws Exception {
        try (Simulator sim = new Simulator(simulatorBinary);
             KlarnaClient client = new KlarnaClient(sim.config("not-the-password"))) {
            KlarnaPermissionDeniedException e = Check.throwsExactly(KlarnaPermissionDeniedException.class,
                    () -> client.createSession(order()), "wrong password");
            Check.equal(11, e.code(), "code");
            Check.equal("KPOS_E_PERMISSION_DENIED", e.name(), "name");
            Check.equal(KlarnaAction.CONTACT_SUPPORT, e.action(), "action");
            Check.equal(401, e.httpStatus(), "HTTP status");
            Check.isTrue(e.correlationId() != null && !e.correlationId().isEmpty(), "a correlation id");
            Check.isTrue(e.toString().contains(e.correlationId()), "toString shows the correlation id");
            Check.isTrue(!e.getMessage().startsWith("KPOS_E_"), "the message without the name: " + e.getMessage());
            Check.equal(null, e.field(), "no field");
            Check.isTrue(e.detailJson().contains("\"http_status\":401"), "detail JSON: " + e.detailJson());
            Check.isTrue(!e.toString().contains(Simulator.PASSWORD) && !e.toString().contains("not-the-password"),
                    "no password in the error");
        }
    }

    private static void healthCheck() throws Exception {
        try (Simulator sim = new Simulator(simulatorBinary)) {
            try (KlarnaClient client = new KlarnaClient(sim.config())) {
                HealthCheck check = client.check();
                Check.equal(0, check.code(), "every step passed");
                Check.isTrue(check.passed(), "passed");
                Check.isTrue(check.reportJson().contains("{\"step\":\"credentials\",\"verdict\":\"ok\""),
                        "credentials step ok: " + check.reportJson());
            }
            try (KlarnaClient client = new KlarnaClient(sim.config("not-the-password"))) {
                HealthCheck check = client.check();
                Check.equal("KPOS_E_PERMISSION_DENIED", check.codeName(), "wrong credentials");
                Check.isTrue(!check.passed(), "not passed");
                Check.isTrue(check.reportJson().contains("\"code_name\":\"KPOS_E_PERMISSION_DENIED\""),
                        "named in the report: " + check.reportJson());
            }
            Check.equal(0L, Simulator.number(sim.stats(), "sessions_created"), "the check created nothing");
        }
    }

    private static void badConfiguration() {
        KlarnaInvalidArgumentException e = Check.throwsExactly(KlarnaInvalidArgumentException.class,
                () -> new KlarnaClient(new KlarnaConfig().apiUrl("http://127.0.0.1:9").username("u").password("p")
                        .requestTimeoutMs(0)), "request_timeout_ms 0");
        Check.equal("request_timeout_ms", e.field(), "field");
        Check.equal(KlarnaAction.FIX_CALLER, e.action(), "action");
        e = Check.throwsExactly(KlarnaInvalidArgumentException.class, () -> new KlarnaClient("{\"usernme\":\"u\"}"),
                "misspelt key");
        Check.equal("usernme", e.field(), "field of the unknown key");
        e = Check.throwsExactly(KlarnaInvalidArgumentException.class,
                () -> new KlarnaClient(new KlarnaConfig().apiUrl("http://shop.example").username("u").password("p")),
                "plain http to a remote host");
        Check.equal("api_url", e.field(), "field");
        Check.isTrue(!new KlarnaConfig().password("s3cret").toString().contains("s3cret"), "toString hides the password");
    }

    private static void badStrings() throws Exception {
        withClient((sim, client) -> {
            KlarnaInvalidArgumentException e = Check.throwsExactly(KlarnaInvalidArgumentException.class,
                    () -> client.createSession("{\"a\":1}\0{}"), "NUL in the order");
            Check.equal("order", e.field(), "field");
            e = Check.throwsExactly(KlarnaInvalidArgumentException.class,
                    () -> client.createSession(order().replace("Kaffebönor", "Kaffe\uD800")), "lone surrogate");
            Check.equal("order", e.field(), "field");
            Check.throwsExactly(KlarnaInvalidArgumentException.class, () -> client.createSession("purchase_country=SE"),
                    "not JSON");
            Check.throwsExactly(NullPointerException.class, () -> client.createSession(null), "null order");
            Check.equal(0L, Simulator.number(sim.stats(), "requests"), "nothing was sent");
        });
    }

    private static void awaitTimeout() throws Exception {
        withClient((sim, client) -> {
            try (KlarnaSession session = client.createSession(order())) {
                session.poll();
                KlarnaTimeoutException e = Check.throwsExactly(KlarnaTimeoutException.class,
                        () -> session.await(Duration.ofMillis(300)), "no change");
                Check.equal(30, e.code(), "code");
                Check.equal(SessionStatus.DISTRIBUTED, e.lastStatus(), "last status");
                Check.equal(KlarnaAction.RETRY, e.action(), "action");
                Check.throwsExactly(IllegalArgumentException.class, () -> session.await(Duration.ofSeconds(-1)),
                        "negative timeout");
            }
        });
    }

    private static void cancelFromAnotherThread() throws Exception {
        withClient((sim, client) -> {
            try (KlarnaSession session = client.createSession(order())) {
                session.poll();
                long pollsBefore = Simulator.number(sim.session(session.id()), "polls");
                AtomicReference<Throwable> cancelError = new AtomicReference<>();
                Thread canceller = new Thread(() -> {
                    try {
                        // The await is blocked once its first status request reached the simulator.
                        Simulator.waitUntil(() -> Simulator.number(sim.session(session.id()), "polls") > pollsBefore,
                                "await polls");
                        session.cancel();
                    } catch (Throwable t) {
                        cancelError.set(t);
                    }
                });
                canceller.start();
                KlarnaCancelledException e = Check.throwsExactly(KlarnaCancelledException.class,
                        () -> session.await(Duration.ofSeconds(30)), "await during cancel");
                canceller.join();
                Check.equal(null, cancelError.get(), "cancel on the other thread");
                Check.equal(50, e.code(), "code");
                Check.equal("KPOS_E_CANCELLED", e.name(), "name");
                Check.equal(SessionStatus.CANCELED, session.status(), "status");
                Check.equal("CANCELED", sim.session(session.id()).get("status"), "simulator status");
                Check.equal(1L, Simulator.number(sim.session(session.id()), "deletes"), "one DELETE");
                session.cancel(); // idempotent
            }
        });
    }

    private static void cancelAfterCompletion() throws Exception {
        withClient((sim, client) -> {
            try (KlarnaSession session = client.createSession(order())) {
                session.poll();
                sim.customer(session.id(), "approve", null);
                Check.equal(SessionStatus.COMPLETED, session.await(Duration.ofSeconds(10)), "completed");
                KlarnaConflictException e = Check.throwsExactly(KlarnaConflictException.class, session::cancel,
                        "cancel after completion");
                Check.equal(14, e.code(), "code");
                Check.equal(SessionStatus.COMPLETED, session.status(), "still completed");
            }
        });
    }

    private static void klarnaSideFailures() throws Exception {
        Object[][] cases = {
            {"{\"mode\":\"rate_limit\",\"retry_after\":0,\"count\":50}", KlarnaRateLimitedException.class},
            {"{\"mode\":\"status_500\",\"count\":50}", KlarnaUnknownException.class},
            {"{\"mode\":\"reset\",\"count\":50}", KlarnaNetworkException.class},
            {"{\"mode\":\"malformed_json\",\"count\":50}", KlarnaProtocolException.class},
        };
        for (Object[] c : cases) {
            withClient((sim, client) -> {
                sim.fault((String) c[0]);
                Class<? extends KlarnaException> type = ((Class<?>) c[1]).asSubclass(KlarnaException.class);
                KlarnaException e = Check.throwsExactly(type, () -> client.createSession(order()), (String) c[0]);
                Check.equal(KlarnaLibrary.resultName(e.code()), e.name(), "name");
                Check.equal(null, e.retryAfterMs(), "no Retry-After to wait out");
            });
        }
        withClient((sim, client) -> {
            sim.fault("{\"mode\":\"rate_limit\",\"retry_after\":2,\"count\":1}");
            KlarnaRateLimitedException e = Check.throwsExactly(KlarnaRateLimitedException.class,
                    () -> client.createSession(order()), "a creation at the limit");
            Check.equal(2000L, e.retryAfterMs(), "Klarna's Retry-After");
        });
        try (Simulator sim = new Simulator(simulatorBinary);
             KlarnaClient client = new KlarnaClient(sim.config().requestTimeoutMs(300))) {
            sim.fault("{\"mode\":\"stall\",\"stall_ms\":3000,\"count\":50}");
            KlarnaTimeoutException e = Check.throwsExactly(KlarnaTimeoutException.class,
                    () -> client.createSession(order()), "stalled answer");
            Check.equal(null, e.lastStatus(), "no status outside await");
        }
        try (KlarnaClient client = new KlarnaClient(new KlarnaConfig().apiUrl("https://127.0.0.1:1").username("u")
                .password("p").connectTimeoutMs(2000))) {
            KlarnaNetworkException e = Check.throwsExactly(KlarnaNetworkException.class,
                    () -> client.createSession(order()), "nothing listens");
            Check.equal(null, e.httpStatus(), "no HTTP status without an answer");
            Check.equal(KlarnaAction.RETRY, e.action(), "action");
        }
    }

    private static void failureProperty() throws Exception {
        withClient((sim, client) -> {
            try (KlarnaSession session = client.createSession(order())) {
                session.poll();
                sim.customer(session.id(), "fail", "{\"code\":\"PERMISSION_DENIED\"}");
                Check.equal(SessionStatus.FAILED, session.await(Duration.ofSeconds(10)), "failed");
                KlarnaException failure = session.failure();
                Check.equal(KlarnaPermissionDeniedException.class, failure.getClass(), "failure class");
                Check.equal("PERMISSION_DENIED", failure.klarnaErrorCode(), "Klarna's distribution error code");
            }
        });
    }

    private static void resumedSession() throws Exception {
        withClient((sim, client) -> {
            String id;
            String url;
            try (KlarnaSession session = client.createSession(order())) {
                session.poll();
                id = session.id();
                url = session.resultUrl();
            }
            sim.customer(id, "approve", "{\"order_id\":\"ORDER-JAVA-RESUMED\"}");
            try (KlarnaSession resumed = client.resumeSession(id, url)) {
                Check.equal(id, resumed.id(), "id");
                Check.equal(SessionStatus.COMPLETED, resumed.poll(), "status");
                Check.equal("ORDER-JAVA-RESUMED", resumed.orderId(), "order id");
            }
            try (KlarnaSession unknown = client.resumeSession("no-such-session",
                    sim.url + "/instore/v1/distributions/no-such-session?dt=x")) {
                KlarnaNotFoundException e = Check.throwsExactly(KlarnaNotFoundException.class, unknown::poll,
                        "unknown session");
                Check.equal(404, e.httpStatus(), "HTTP status");
            }
        });
    }

    private static void fromEnvironment() throws Exception {
        // The variables are this process's: the test program is started with them (run.sh) or
        // not at all, in which case the library refuses the missing configuration.
        if (System.getenv("KLARNA_API_URL") == null) {
            KlarnaInvalidArgumentException e = Check.throwsExactly(KlarnaInvalidArgumentException.class,
                    KlarnaClient::fromEnvironment, "no KLARNA_ variables");
            Check.isTrue(e.getMessage().contains("KLARNA_"), "names the variables: " + e.getMessage());
        } else {
            try (KlarnaClient client = KlarnaClient.fromEnvironment()) {
                Check.isTrue(client.check() != null, "a client");
            }
        }
    }

    private static void closedHandles() throws Exception {
        try (Simulator sim = new Simulator(simulatorBinary)) {
            KlarnaClient client = new KlarnaClient(sim.config());
            KlarnaSession session = client.createSession(order());
            client.close();
            client.close(); // idempotent
            Check.throwsExactly(IllegalStateException.class, () -> client.createSession(order()), "closed client");
            Check.equal(SessionStatus.DISTRIBUTED, session.poll(), "the session outlives its client");
            String id = session.id();
            session.close();
            session.close(); // idempotent
            Check.isTrue(session.isClosed(), "closed");
            Check.equal(id, session.id(), "the id stays readable");
            Check.throwsExactly(IllegalStateException.class, session::poll, "poll after close");
            Check.throwsExactly(IllegalStateException.class, session::cancel, "cancel after close");
            Check.isTrue(session.toString().contains("closed"), "toString says closed");
        }
    }

    private static void logListener() throws Exception {
        List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        KlarnaLibrary.setLogListener((level, message) -> lines.add(level + " " + message), LogLevel.DEBUG);
        try {
            withClient((sim, client) -> {
                try (KlarnaSession session = client.createSession(order())) {
                    session.poll();
                }
                synchronized (lines) {
                    Check.isTrue(lines.stream().anyMatch(l -> l.contains("client for " + sim.url)),
                            "the client's line: " + lines);
                    Check.isTrue(lines.stream().noneMatch(l -> l.contains(Simulator.PASSWORD)), "no password logged");
                }
            });
        } finally {
            KlarnaLibrary.setLogListener(null, LogLevel.ERROR);
        }
        int before = lines.size();
        withClient((sim, client) -> client.createSession(order()).close());
        Check.equal(before, lines.size(), "nothing after the listener was removed");
    }

    private static void headerNumbers() throws Exception {
        Map<String, Integer> statuses = headerDefines("KPOS_STATUS_");
        for (Map.Entry<String, Integer> d : statuses.entrySet()) {
            Check.equal(d.getValue(), SessionStatus.valueOf(d.getKey()).code(), "KPOS_STATUS_" + d.getKey());
            Check.equal(d.getKey(), SessionStatus.valueOf(d.getKey()).nativeName(), "name of " + d.getKey());
        }
        Check.equal(statuses.size(), SessionStatus.values().length, "every status");
        Check.equal(SessionStatus.UNKNOWN, SessionStatus.of(42), "a newer library's status");
        Map<String, Integer> actions = headerDefines("KPOS_ACTION_");
        for (Map.Entry<String, Integer> d : actions.entrySet()) {
            Check.equal(d.getValue(), KlarnaAction.valueOf(d.getKey()).code(), "KPOS_ACTION_" + d.getKey());
        }
        Check.equal(actions.size(), KlarnaAction.values().length, "every action");
        Map<String, Integer> formats = headerDefines("KPOS_QR_");
        for (Map.Entry<String, Integer> d : formats.entrySet()) {
            Check.equal(d.getValue(), QrFormat.valueOf(d.getKey()).code(), "KPOS_QR_" + d.getKey());
        }
        Check.equal(formats.size(), QrFormat.values().length, "every QR format");
        Map<String, Integer> levels = headerDefines("KPOS_LOG_");
        for (Map.Entry<String, Integer> d : levels.entrySet()) {
            Check.equal(d.getValue(), LogLevel.valueOf(d.getKey()).code(), "KPOS_LOG_" + d.getKey());
        }
        Check.equal(levels.size(), LogLevel.values().length, "every log level");
    }

    private static String className(String codeName) {
        StringBuilder sb = new StringBuilder("Klarna");
        for (String part : codeName.split("_")) {
            sb.append(part.charAt(0)).append(part.substring(1).toLowerCase(java.util.Locale.ROOT));
        }
        return sb.append("Exception").toString();
    }

    private static void exceptionClasses() throws Exception {
        Map<String, Integer> codes = headerDefines("KPOS_E_");
        Check.isTrue(codes.size() >= 13, "the result codes are read");
        for (Map.Entry<String, Integer> d : codes.entrySet()) {
            KlarnaException e = KlarnaException.create(d.getValue(), "text");
            Check.equal(className(d.getKey()), e.getClass().getSimpleName(), "class of KPOS_E_" + d.getKey());
            Check.equal("KPOS_E_" + d.getKey(), e.name(), "name of " + d.getKey());
            Check.equal(d.getValue(), e.code(), "code of " + d.getKey());
            Check.equal(KlarnaLibrary.resultAction(d.getValue()), e.action(), "action of " + d.getKey());
        }
        KlarnaException newer = KlarnaException.create(77, "a newer code");
        Check.equal(KlarnaException.class, newer.getClass(), "a code this version does not know");
        Check.equal("KPOS_E_UNRECOGNIZED", newer.name(), "its name");
    }

    private static void version() throws Exception {
        Map<String, Integer> v = headerDefines("KPOS_VERSION_");
        Check.equal(v.get("MAJOR") + "." + v.get("MINOR") + "." + v.get("PATCH"), KlarnaLibrary.version(), "version");
        Check.equal(v.get("MAJOR") * 10000 + v.get("MINOR") * 100 + v.get("PATCH"), KlarnaLibrary.versionNumber(),
                "version number");
        Matcher cargo = Pattern.compile("(?m)^version = \"([^\"]+)\"").matcher(readText("Cargo.toml"));
        Check.isTrue(cargo.find(), "Cargo.toml's version");
        Check.equal(cargo.group(1), KlarnaLibrary.bindingVersion(), "the binding's version is Cargo.toml's");
        Check.equal(null, KlarnaLibrary.versionMismatch(10203, "1.0.0"), "same major: accepted");
        String why = KlarnaLibrary.versionMismatch(20001, "1.2.3");
        Check.isTrue(why != null && why.contains("2.0.1") && why.contains("1.2.3"), "another major: refused naming both: " + why);
        Check.isTrue(KlarnaLibrary.versionMismatch(10000, "0.1.0") != null, "1.x library, 0.x binding: refused");
    }

    /** Run in a child JVM whose klarnapos.library is a library of another major version. */
    private static void versionProbe() {
        try {
            System.out.println("loaded " + KlarnaLibrary.version());
            System.exit(0);
        } catch (UnsatisfiedLinkError e) {
            System.out.println("refused: " + e.getMessage());
        }
        try {
            Qr.render("x", QrFormat.SVG);
            System.out.println("second use allowed");
            System.exit(0);
        } catch (UnsatisfiedLinkError e) {
            System.out.println("refused again: " + e.getMessage());
        }
        System.exit(3);
    }

    private static void otherMajorRefused() throws Exception {
        Path dir = Files.createTempDirectory("klarna-pos-java-major");
        try {
            // A library that is version 1.0.0: the two version functions are all it needs.
            Path source = dir.resolve("major1.c");
            Files.write(source, ("const char *kpos_version(void) { return \"1.0.0\"; }\n"
                    + "unsigned kpos_version_number(void) { return 10000; }\n").getBytes(StandardCharsets.UTF_8));
            Path library = dir.resolve("libklarna_pos_major1.so");
            Process gcc = new ProcessBuilder(System.getenv().getOrDefault("CC", "gcc"), "-shared", "-fPIC", "-o",
                    library.toString(), source.toString()).inheritIO().start();
            Check.equal(0, gcc.waitFor(), "gcc builds the other library");
            String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder(java, "-Dklarnapos.library=" + library, "-cp",
                    System.getProperty("java.class.path"), KlarnaPosTests.class.getName(), "--version-probe")
                    .redirectErrorStream(true).start();
            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            Check.isTrue(child.waitFor(60, TimeUnit.SECONDS), "the probe ends");
            Check.equal(3, child.exitValue(), "refused twice: " + out);
            Check.isTrue(out.contains("refused: ") && out.contains("version 1.0.0")
                    && out.contains("version " + KlarnaLibrary.bindingVersion()), "names both versions: " + out);
            Check.isTrue(out.contains("refused again: "), "and stays refused: " + out);
        } finally {
            try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    // ---- after the sale ---------------------------------------------------------------------

    /** A payment completed through the library; Klarna places the order with {@code orderId}. */
    private static String paidOrder(Simulator sim, KlarnaClient client, String orderId) throws IOException {
        try (KlarnaSession session = client.createSession(order())) {
            sim.customer(session.id(), "approve", "{\"order_id\":\"" + orderId + "\"}");
            Check.equal(SessionStatus.COMPLETED, session.poll(), "paid");
            Check.equal(orderId, session.orderId(), "order id");
        }
        return orderId;
    }

    private static Map<String, Object> simOrder(Simulator sim, String orderId) {
        return sim.get("/_sim/orders/" + orderId);
    }

    private static void getOrder() throws Exception {
        withClient((sim, client) -> {
            String orderId = paidOrder(sim, client, "ORDER-JAVA-GET");
            Map<String, Object> order = object(JsonReader.parse(client.getOrder(orderId)));
            Check.equal(orderId, order.get("order_id"), "order id");
            Check.equal("AUTHORIZED", order.get("status"), "status");
            Check.equal(49000L, Simulator.number(order, "order_amount"), "order amount");
            Check.equal(49000L, Simulator.number(order, "remaining_authorized_amount"), "remaining");
            KlarnaNotFoundException e = Check.throwsExactly(KlarnaNotFoundException.class,
                    () -> client.getOrder("no-such-order"), "unknown order");
            Check.equal("NO_SUCH_ORDER", e.klarnaErrorCode(), "Klarna's code");
            Check.equal(404, e.httpStatus(), "HTTP status");
        });
    }

    private static void captureAndRefund() throws Exception {
        withClient((sim, client) -> {
            String orderId = paidOrder(sim, client, "ORDER-JAVA-REFUND");
            String captureId = client.capture(orderId, 30000, "C-1", "till7-C1");
            Check.equal(captureId, client.capture(orderId, 30000, "C-1", "till7-C1"), "the same capture id with the key");
            List<Object> captures = list(simOrder(sim, orderId).get("captures"));
            Check.equal(1, captures.size(), "captures booked");
            Check.equal(captureId, object(captures.get(0)).get("capture_id"), "ledger capture id");
            Check.equal(30000L, Simulator.number(object(captures.get(0)), "captured_amount"), "captured amount");

            String first = client.refund(orderId, 500, "R-1001", "till7-R1001");
            String second = client.refund(orderId, 500, "R-1001", "till7-R1001");
            Check.isTrue(first != null && !first.isEmpty(), "a refund id");
            Check.equal(first, second, "the same refund id");
            List<Object> refunds = list(simOrder(sim, orderId).get("refunds"));
            Check.equal(1, refunds.size(), "refunds booked");
            Check.equal(first, object(refunds.get(0)).get("refund_id"), "ledger refund id");
            Check.equal("R-1001", object(refunds.get(0)).get("reference"), "reference");
            String body = "{\"refunded_amount\":700,\"description\":\"Retur – kvitto 1002\"}";
            String third = client.refundWithBody(orderId, body, "till7-R1002");
            Check.equal(third, client.refundWithBody(orderId, body, "till7-R1002"), "the same id with a body");
            refunds = list(simOrder(sim, orderId).get("refunds"));
            Check.equal(2, refunds.size(), "refunds booked");
            Check.equal("Retur – kvitto 1002", object(refunds.get(1)).get("description"), "UTF-8 description");
            Map<String, Object> order = object(JsonReader.parse(client.getOrder(orderId)));
            Check.equal(30000L, Simulator.number(order, "captured_amount"), "captured");
            Check.equal(1200L, Simulator.number(order, "refunded_amount"), "refunded");
            Check.equal("PART_CAPTURED", order.get("status"), "status");
        });
    }

    private static void orderManagementConflicts() throws Exception {
        withClient((sim, client) -> {
            String captured = paidOrder(sim, client, "ORDER-JAVA-CAPTURED");
            client.capture(captured, 1000);
            KlarnaConflictException e = Check.throwsExactly(KlarnaConflictException.class,
                    () -> client.refund(captured, 1001), "refund above the captured amount");
            Check.equal(14, e.code(), "code");
            Check.equal("KPOS_E_CONFLICT", e.name(), "name");
            Check.equal("REFUND_NOT_ALLOWED", e.klarnaErrorCode(), "Klarna's code");
            Check.equal(403, e.httpStatus(), "HTTP status");
            Check.isTrue(e.correlationId() != null && !e.correlationId().isEmpty(), "a correlation id");
            Check.equal(null, e.field(), "no field");
            Check.isTrue(e.detailJson().contains("REFUND_NOT_ALLOWED"), "the detail JSON: " + e.detailJson());
            Check.equal(0, list(simOrder(sim, captured).get("refunds")).size(), "nothing refunded");
            e = Check.throwsExactly(KlarnaConflictException.class, () -> client.cancelOrder(captured, null),
                    "cancel after a capture");
            Check.equal("CANCEL_NOT_ALLOWED", e.klarnaErrorCode(), "Klarna's code");

            String untouched = paidOrder(sim, client, "ORDER-JAVA-VOID");
            client.cancelOrder(untouched, "void-1");
            Check.equal("CANCELLED", object(JsonReader.parse(client.getOrder(untouched))).get("status"), "cancelled");
            Check.throwsExactly(KlarnaConflictException.class, () -> client.releaseRemainingAuthorization(untouched, null),
                    "release after a cancel");

            String released = paidOrder(sim, client, "ORDER-JAVA-RELEASE");
            KlarnaConflictException notAllowed = Check.throwsExactly(KlarnaConflictException.class,
                    () -> client.releaseRemainingAuthorization(released, null), "release without a capture");
            Check.equal("NOT_ALLOWED", notAllowed.klarnaErrorCode(), "Klarna's code");
            client.capture(released, 100);
            client.releaseRemainingAuthorization(released, "release-1");
            Check.equal("CAPTURED", object(JsonReader.parse(client.getOrder(released))).get("status"), "captured");
        });
    }

    private static void orderBodiesChecked() throws Exception {
        withClient((sim, client) -> {
            String orderId = paidOrder(sim, client, "ORDER-JAVA-BODY");
            long before = Simulator.number(sim.stats(), "requests");
            KlarnaBadRequestException e = Check.throwsExactly(KlarnaBadRequestException.class,
                    () -> client.refund(orderId, -1), "negative refund");
            Check.equal("refunded_amount", e.field(), "field");
            e = Check.throwsExactly(KlarnaBadRequestException.class,
                    () -> client.capture(orderId, 100, "r".repeat(256), null), "long reference");
            Check.equal("reference", e.field(), "field");
            e = Check.throwsExactly(KlarnaBadRequestException.class,
                    () -> client.captureWithBody(orderId, "{\"captured_amount\":100,\"description\":5}", null),
                    "description not a string");
            Check.equal("description", e.field(), "field");
            Check.throwsExactly(KlarnaInvalidArgumentException.class,
                    () -> client.refund(orderId, 100, null, "has spaces"), "key with spaces");
            Check.throwsExactly(KlarnaInvalidArgumentException.class,
                    () -> client.refundWithBody(orderId, "refunded_amount=100", null), "not JSON");
            Check.throwsExactly(NullPointerException.class, () -> client.getOrder(null), "null order id");
            Check.equal(before, Simulator.number(sim.stats(), "requests"), "nothing was sent");
        });
    }

    private static void journalPending() throws Exception {
        Path dir = Files.createTempDirectory("klarna-pos-java-journal");
        try (Simulator sim = new Simulator(simulatorBinary)) {
            try (KlarnaClient client = new KlarnaClient(sim.config().journalDir(dir.resolve("journal").toString()))) {
                Check.equal(0, list(JsonReader.parse(client.journalPending())).size(), "nothing open");
                try (KlarnaSession session = client.createSession(order())) {
                    List<Object> pending = list(JsonReader.parse(client.journalPending()));
                    Check.equal(1, pending.size(), "the session is open");
                    Map<String, Object> record = object(pending.get(0));
                    Check.equal("session", record.get("kind"), "kind");
                    Check.equal(session.id(), record.get("session_id"), "session id");
                    Check.equal(session.resultUrl(), record.get("result_url"), "result url");
                    session.poll();
                    sim.customer(session.id(), "approve", null);
                    Check.equal(SessionStatus.COMPLETED, session.await(Duration.ofSeconds(10)), "completed");
                }
                Check.equal(0, list(JsonReader.parse(client.journalPending())).size(), "closed once terminal");
            }
            try (KlarnaClient plain = new KlarnaClient(sim.config())) {
                Check.throwsExactly(KlarnaInvalidArgumentException.class, plain::journalPending, "no journal configured");
            }
        } finally {
            try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    // ---- QR codes and texts -----------------------------------------------------------------

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(Arrays.copyOfRange(haystack, i, i + needle.length), needle)) {
                return i;
            }
        }
        return -1;
    }

    private static void qrEveryFormat() {
        String link = "https://pay.klarna.com/eu/p/7d2a4f0e?q=Kaffebönor";
        for (QrFormat format : QrFormat.values()) {
            Check.isTrue(Qr.render(link, format).length > 0, format + " is not empty");
        }
        byte[] png = Qr.render(link, QrFormat.PNG);
        byte[] signature = {(byte) 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};
        Check.isTrue(Arrays.equals(Arrays.copyOf(png, 8), signature), "PNG signature");
        String svg = new String(Qr.render(link, QrFormat.SVG), StandardCharsets.UTF_8);
        Check.isTrue(svg.contains("<svg") && svg.trim().endsWith("</svg>"), "an SVG document");
        String text = new String(Qr.render(link, QrFormat.TEXT), StandardCharsets.UTF_8);
        Check.isTrue(text.endsWith("\n") && text.replaceAll("[\u2580\u2584\u2588 \n]", "").isEmpty(), "half blocks");
        String inverse = new String(Qr.render(link, QrFormat.TEXT_INVERSE), StandardCharsets.UTF_8);
        Check.isTrue(!inverse.equals(text) && inverse.split("\n").length == text.split("\n").length, "inverse text");
        byte[] nativeQr = Qr.render(link, QrFormat.ESCPOS_NATIVE);
        Check.isTrue(indexOf(nativeQr, link.getBytes(StandardCharsets.UTF_8)) >= 0, "GS ( k carries the UTF-8 text");
        byte[] raster = Qr.render(link, QrFormat.ESCPOS);
        Check.isTrue(raster[0] == 0x1D && raster[1] == 'v' && raster[2] == '0', "GS v 0 raster image");
    }

    private static void qrRefusals() {
        Check.throwsExactly(KlarnaBadRequestException.class, () -> Qr.render("", QrFormat.PNG), "empty text");
        KlarnaBadRequestException e = Check.throwsExactly(KlarnaBadRequestException.class,
                () -> Qr.render("x".repeat(2332), QrFormat.PNG), "too long");
        Check.isTrue(e.getMessage().contains("2331"), "says the limit: " + e.getMessage());
        Check.isTrue(Qr.render("x".repeat(2331), QrFormat.PNG).length > 0, "2331 bytes fit");
        Check.throwsExactly(KlarnaInvalidArgumentException.class, () -> Qr.render("x", 9), "unknown format");
        Check.throwsExactly(KlarnaInvalidArgumentException.class, () -> Qr.render("a\0b", QrFormat.SVG), "NUL in the text");
        Check.throwsExactly(NullPointerException.class, () -> Qr.render(null, QrFormat.SVG), "null text");
    }

    private static final SessionStatus[][] TABLE_COLUMNS = {
        {SessionStatus.CREATED, SessionStatus.WAITING}, {SessionStatus.DISTRIBUTED}, {SessionStatus.ACCESSED},
        {SessionStatus.COMPLETED}, {SessionStatus.CANCELED}, {SessionStatus.FAILED}, {SessionStatus.EXPIRED},
        {SessionStatus.UNKNOWN},
    };

    /** Compares one table of docs/events.md (after {@code heading}) with the binding. */
    private static int compareTable(String docs, String heading, boolean customer) {
        int start = docs.indexOf(heading);
        Check.isTrue(start >= 0, heading + " in docs/events.md");
        int rows = 0;
        for (String line : docs.substring(start).split("\n")) {
            if (rows > 0 && !line.startsWith("| `")) {
                break;
            }
            if (!line.startsWith("| `")) {
                continue;
            }
            String[] cells = line.split("\\|");
            String tag = cells[1].trim().replace("`", "");
            for (int c = 0; c < TABLE_COLUMNS.length; c++) {
                String expected = cells[3 + c].trim();
                for (SessionStatus status : TABLE_COLUMNS[c]) {
                    String actual = customer ? status.customerText(tag) : status.displayText(tag);
                    Check.equal(expected, actual.replace('\u00a0', ' '), tag + " " + status + (customer ? " customer" : " cashier"));
                }
            }
            rows++;
        }
        return rows;
    }

    private static void displayTexts() throws Exception {
        String docs = readText("docs/events.md").replace('\u00a0', ' ');
        Check.isTrue(compareTable(docs, "#### Cashier", false) >= 13, "the cashier table's rows");
        Check.isTrue(compareTable(docs, "#### Customer", true) >= 13, "the customer table's rows");
        Check.equal("Scan the QR code with your phone", SessionStatus.DISTRIBUTED.displayText(), "English default");
        Check.equal("Skanna QR-koden med mobilen", SessionStatus.DISTRIBUTED.displayText("sv_se"), "sv_se");
        Check.equal("Scan the QR code with your phone", SessionStatus.DISTRIBUTED.displayText(null), "null: English");
        Check.equal("Scan the QR code with your phone", SessionStatus.DISTRIBUTED.displayText("x\0y"), "NUL: English");
        Check.equal("Paiement accepté. Merci\u00a0!", SessionStatus.COMPLETED.customerText("fr-BE"),
                "French keeps its no-break space");
    }

    // ---- status events ----------------------------------------------------------------------

    private static SessionStatus next(BlockingQueue<SessionStatus> heard) throws InterruptedException {
        SessionStatus s = heard.poll(30, TimeUnit.SECONDS);
        Check.isTrue(s != null, "a status call within 30 s");
        return s;
    }

    private static void watchInOrder() throws Exception {
        withClient((sim, client) -> {
            try (KlarnaSession session = client.createSession(order())) {
                Check.equal(SessionStatus.DISTRIBUTED, session.poll(), "first poll");
                BlockingQueue<SessionStatus> heard = new LinkedBlockingQueue<>();
                List<String> threads = java.util.Collections.synchronizedList(new ArrayList<>());
                List<KlarnaSession> sessions = java.util.Collections.synchronizedList(new ArrayList<>());
                session.watch((s, status) -> {
                    sessions.add(s);
                    threads.add(Thread.currentThread().getName());
                    heard.add(status);
                });
                Check.equal(SessionStatus.DISTRIBUTED, next(heard), "the status at the time of the watch");
                sim.customer(session.id(), "scan", null);
                Check.equal(SessionStatus.ACCESSED, next(heard), "after the scan");
                sim.customer(session.id(), "approve", "{\"order_id\":\"ORDER-JAVA-WATCH\"}");
                Check.equal(SessionStatus.COMPLETED, next(heard), "the final status");
                Check.equal("ORDER-JAVA-WATCH", session.orderId(), "order id");
                Check.isTrue(!threads.contains(Thread.currentThread().getName()), "not on the test's thread");
                Check.isTrue(sessions.stream().allMatch(x -> x == session), "the listener is given the watched session");
                session.unwatch(); // after the final call: nothing to end
            }
        });
    }

    private static void watchEndsOnCancel() throws Exception {
        withClient((sim, client) -> {
            try (KlarnaSession session = client.createSession(order())) {
                BlockingQueue<SessionStatus> heard = new LinkedBlockingQueue<>();
                Check.equal(SessionStatus.DISTRIBUTED, session.poll(), "first poll");
                session.watch((s, status) -> heard.add(status));
                Check.equal(SessionStatus.DISTRIBUTED, next(heard), "first call");
                session.cancel();
                // When cancel returns, the final call has returned.
                Check.equal(SessionStatus.CANCELED, heard.poll(), "the final call, already made");
                Check.equal(null, heard.poll(), "nothing after it");
                Check.equal("CANCELED", sim.session(session.id()).get("status"), "cancelled at Klarna");
            }
        });
    }

    // ---- the store's day --------------------------------------------------------------------

    private interface WithJournal {
        void run(Simulator sim, KlarnaClient client) throws Exception;
    }

    /** A simulator and a client with a journal_dir of its own. */
    private static void withJournal(WithJournal body) throws Exception {
        Path dir = Files.createTempDirectory("klarna-pos-java-day");
        try (Simulator sim = new Simulator(simulatorBinary);
             KlarnaClient client = new KlarnaClient(sim.config().journalDir(dir.resolve("journal").toString()))) {
            body.run(sim, client);
        } finally {
            try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The test order with its merchant_reference1 replaced. */
    private static String orderWithReference(String reference) throws IOException {
        String order = order();
        Check.isTrue(order.contains("\"K042-3-004711\""), "the order's merchant_reference1");
        return order.replace("\"K042-3-004711\"", Json.quote(reference));
    }

    /** Creates a session for {@code reference} and lets the customer do {@code action}
     * (approve, cancel, fail), the till seeing the outcome; returns the final status. */
    private static SessionStatus sale(Simulator sim, KlarnaClient client, String reference, String action, String body)
            throws IOException {
        try (KlarnaSession session = client.createSession(orderWithReference(reference))) {
            Check.equal(SessionStatus.DISTRIBUTED, session.poll(), reference + " distributed");
            sim.customer(session.id(), action, body);
            SessionStatus status = session.await(Duration.ofSeconds(10));
            Check.isTrue(status.isTerminal(), reference + " terminal: " + status);
            return status;
        }
    }

    private static void storesDay() throws Exception {
        withJournal((sim, client) -> {
            OffsetDateTime start = OffsetDateTime.now().minusHours(1);
            long amount = Simulator.number(object(JsonReader.parse(order())), "order_amount");
            for (int i = 1; i <= 5; i++) {
                Check.equal(SessionStatus.COMPLETED, sale(sim, client, "JAVA-PAID-" + i, "approve",
                        "{\"order_id\":\"ORDER-JAVA-DAY-" + i + "\"}"), "paid " + i);
            }
            Check.equal(SessionStatus.CANCELED, sale(sim, client, "JAVA-CANCELLED", "cancel", null), "cancelled");
            Check.equal(SessionStatus.FAILED, sale(sim, client, "JAVA-FAILED", "fail", "{\"code\":\"INTERNAL_ERROR\"}"),
                    "failed");
            try (KlarnaSession tillGaveUp = client.createSession(orderWithReference("JAVA-TILL-CANCELLED"))) {
                tillGaveUp.poll();
                tillGaveUp.cancel();
            }
            client.capture("ORDER-JAVA-DAY-1", amount, "C-1", "day-capture-1");
            client.capture("ORDER-JAVA-DAY-2", 10000, "C-2", "day-capture-2");
            String firstRefund = client.refund("ORDER-JAVA-DAY-1", 1500, "R-1", "day-refund-1");
            // The till repeats a refund with its key (a lost answer, a restart): one refund.
            Check.equal(firstRefund, client.refund("ORDER-JAVA-DAY-1", 1500, "R-1", "day-refund-1"),
                    "the repeated refund is the same refund");
            client.refund("ORDER-JAVA-DAY-1", 2500, "R-2", "day-refund-2");
            client.refund("ORDER-JAVA-DAY-2", 999, "R-3", "day-refund-3");
            Check.throwsExactly(KlarnaConflictException.class, () -> client.refund("ORDER-JAVA-DAY-2", 50000),
                    "refund above the captured amount");

            HistoryReport report = client.historyReport(start, start.plusHours(2));
            CurrencyTotals sek = report.forCurrency("SEK");
            Check.isTrue(sek != null, "a SEK row: " + report);
            Check.equal(1, report.currencies().size(), "one currency: " + report);
            Check.equal(5L, sek.get("paid").count(), "paid count");
            Check.equal(5 * amount, sek.get("paid").amount(), "paid amount");
            Check.equal(2L, sek.get("cancelled").count(), "cancelled count (customer and till)");
            Check.equal(2 * amount, sek.get("cancelled").amount(), "cancelled amount");
            Check.equal(1L, sek.get("failed").count(), "failed count");
            Check.equal(0L, sek.get("open").count(), "nothing open");
            Check.equal(2L, sek.get("captured").count(), "captures");
            Check.equal(amount + 10000, sek.get("captured").amount(), "captured amount");
            Check.equal(3L, sek.get("refunded").count(), "refunds, the repeated one once: " + report);
            Check.equal(1500L + 2500 + 999, sek.get("refunded").amount(), "refunded amount");
            Check.equal(1L, sek.get("refused").count(), "the refused refund");
            Check.equal(0L, report.unwritten(), "every line written");
            long sessions = report.items().stream().filter(r -> r.kind().equals("session")).count();
            Check.equal(8L, sessions, "session items");
            HistoryRecord failed = report.items().stream().filter(r -> "failed".equals(r.outcome())).findFirst().get();
            Check.equal("JAVA-FAILED", failed.merchantReference1(), "failed item's reference");
            Check.isTrue(failed.failureCode() != null, "failed item's code: " + failed);
            HistoryRecord refund = report.items().stream().filter(r -> "refunded".equals(r.outcome())).findFirst().get();
            Check.equal("ORDER-JAVA-DAY-1", refund.orderId(), "refund's order");
            Check.equal(1500L, refund.amount(), "refund's amount");
            Check.equal("SEK", refund.purchaseCurrency(), "refund's currency from its sale");
            Check.equal("JAVA-PAID-1", refund.merchantReference1(), "refund's sale reference");

            HistoryReport before = client.historyReport("2000-01-01T00:00:00Z", "2000-01-02T00:00:00+01:00");
            Check.equal(0, before.items().size(), "nothing on another day");
            KlarnaInvalidArgumentException bad = Check.throwsExactly(KlarnaInvalidArgumentException.class,
                    () -> client.historyReport("yesterday", "2026-12-01T00:00:00Z"), "bad bound");
            Check.equal("from", bad.field(), "the bad bound is named");
            bad = Check.throwsExactly(KlarnaInvalidArgumentException.class,
                    () -> client.historyReport("2026-12-01T00:00:00Z", "2026-11-30T00:00:00Z"), "to before from");
            Check.equal("to", bad.field(), "the later bound is named");
        });
        try (Simulator sim = new Simulator(simulatorBinary); KlarnaClient plain = new KlarnaClient(sim.config())) {
            Check.throwsExactly(KlarnaInvalidArgumentException.class,
                    () -> plain.historyReport("2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z"), "no journal_dir");
        }
    }

    private static void findAfterLostAnswer() throws Exception {
        withJournal((sim, client) -> {
            String id;
            String url;
            // The till created the session, the customer paid, and the till never saw the
            // answer (it crashed, or the line dropped): its record stays open.
            try (KlarnaSession session = client.createSession(orderWithReference("JAVA-4711"))) {
                session.poll();
                id = session.id();
                url = session.resultUrl();
                sim.customer(id, "approve", "{\"order_id\":\"ORDER-JAVA-4711\"}");
            }
            List<HistoryRecord> found = client.historyFind("JAVA-4711");
            Check.equal(1, found.size(), "one record: " + found);
            Check.equal("open", found.get(0).outcome(), "outcome unknown to the till");
            Check.equal(id, found.get(0).sessionId(), "with its session id, to resume");
            try (KlarnaSession resumed = client.resumeSession(id, url)) {
                Check.equal(SessionStatus.COMPLETED, resumed.poll(), "paid after all");
            }
            found = client.historyFind("JAVA-4711");
            Check.equal(1, found.size(), "still one record: " + found);
            Check.equal("paid", found.get(0).outcome(), "paid");
            Check.equal("ORDER-JAVA-4711", found.get(0).orderId(), "Klarna's order");
            Check.equal("042-till-3", found.get(0).merchantReference2(), "merchant_reference2");
            Check.equal(1, client.historyFind("042-till-3").size(), "found by merchant_reference2 too");
            Check.equal(0, client.historyFind("nothing-here").size(), "nothing known");
            KlarnaInvalidArgumentException e = Check.throwsExactly(KlarnaInvalidArgumentException.class,
                    () -> client.historyFind(""), "empty reference");
            Check.equal("merchant_reference", e.field(), "field");
        });
    }

    private static void receiptText() throws Exception {
        withJournal((sim, client) -> {
            long amount = Simulator.number(object(JsonReader.parse(order())), "order_amount");
            String shown = (amount / 100) + "," + String.format("%02d", amount % 100) + " SEK";
            try (KlarnaSession session = client.createSession(orderWithReference("JAVA-RECEIPT-4711"))) {
                KlarnaConflictException e = Check.throwsExactly(KlarnaConflictException.class,
                        () -> session.receiptText("de"), "no receipt before COMPLETED");
                Check.equal(14, e.code(), "code");
                session.poll();
                sim.customer(session.id(), "approve", "{\"order_id\":\"ORDER-JAVA-RECEIPT\"}");
                Check.equal(SessionStatus.COMPLETED, session.await(Duration.ofSeconds(10)), "completed");
                String german = session.receiptText("de");
                Check.isTrue(german.startsWith("Bezahlt mit Klarna\n"), german);
                Check.isTrue(german.contains(shown), "the amount with a decimal comma: " + german);
                Check.isTrue(german.contains("ORDER-JAVA-RECEIPT"), "the order id: " + german);
                Check.isTrue(german.contains("JAVA-RECEIPT-4711"), "the reference: " + german);
                String english = session.receiptText(null);
                Check.isTrue(english.startsWith("Paid with Klarna\n"), english);
                Check.isTrue(english.contains(shown.replace(',', '.')), "a decimal point in English: " + english);
                Check.isTrue(!english.endsWith("\n"), "no newline after the last line");
                for (String language : new String[] {"sv", "nb", "da", "fi", "de", "nl", "fr", "es", "it", "pl", "cs", "pt", "en"}) {
                    String text = session.receiptText(language);
                    for (String line : text.split("\n")) {
                        Check.isTrue(line.codePointCount(0, line.length()) <= 42,
                                language + ": at most 42 characters: " + line);
                    }
                    Check.isTrue(text.contains("Klarna"), language + ": names Klarna: " + text);
                }
            }
        });
    }

    // ---- webhooks ---------------------------------------------------------------------------

    private static String queryParameter(String url, String name) {
        Matcher m = Pattern.compile("[?&]" + name + "=([^&]*)").matcher(url);
        Check.isTrue(m.find(), name + " in " + url);
        return m.group(1);
    }

    private static void verifyWebhook() throws Exception {
        try (Simulator sim = new Simulator(simulatorBinary)) {
            // Nothing listens there: the simulator's deliveries fail, and the test plays the
            // receiver by calling verifyWebhook itself.
            String webhookUrl = "http://127.0.0.1:9/klarna/status";
            try (KlarnaClient client = new KlarnaClient(sim.config().webhookUrl(webhookUrl));
                 KlarnaSession session = client.createSession(order())) {
                Check.equal(SessionStatus.DISTRIBUTED, session.poll(), "first poll");
                String url = (String) sim.session(session.id()).get("callback_url");
                Check.isTrue(url.startsWith(webhookUrl + "?kpos_ref="), "callback URL: " + url);
                String reference = queryParameter(url, "kpos_ref");
                String token = queryParameter(url, "kpos_token");
                String forged = token.substring(0, token.length() - 1) + (token.endsWith("A") ? "B" : "A");
                byte[] claim = "{\"status\":\"COMPLETED\",\"order_id\":\"forged\"}".getBytes(StandardCharsets.UTF_8);
                KlarnaPermissionDeniedException e = Check.throwsExactly(KlarnaPermissionDeniedException.class,
                        () -> client.verifyWebhook("/klarna/status?kpos_ref=" + reference + "&kpos_token=" + forged, claim),
                        "forged token");
                Check.isTrue(!e.toString().contains(token) && !e.toString().contains(forged), "no token in the error");
                Check.throwsExactly(KlarnaNotFoundException.class,
                        () -> client.verifyWebhook("/klarna/status?kpos_ref=" + "0".repeat(32) + "&kpos_token=" + token, claim),
                        "unknown reference");
                Check.equal(SessionStatus.DISTRIBUTED, session.status(), "nothing changed");
                byte[] payload = ("{\"status\":\"ACCESSED\",\"session_id\":\"" + session.id() + "\"}")
                        .getBytes(StandardCharsets.UTF_8);
                byte[] withNul = Arrays.copyOf(payload, payload.length + 8);
                Check.throwsExactly(KlarnaBadRequestException.class, () -> client.verifyWebhook(url, withNul),
                        "a NUL does not shorten the body");
                Check.throwsExactly(KlarnaBadRequestException.class, () -> client.verifyWebhook(url, new byte[0]),
                        "an empty body");
                WebhookResult result = client.verifyWebhook(url, payload);
                Check.equal(session.id(), result.sessionId(), "session id");
                Check.equal(SessionStatus.ACCESSED, result.status(), "status after the callback");
                Check.equal(SessionStatus.ACCESSED, session.status(), "the session learned it");
            }
        }
    }
}
