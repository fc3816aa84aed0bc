// The simulator (klarna-pos-sim) as a test fixture: a process on a free loopback port, its
// control endpoints (/_sim/...) as method calls (answers read with the binding's JsonReader).

package klarnapos;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

final class Simulator implements AutoCloseable {
    static final String USER = "test_user";
    static final String PASSWORD = "test_password";

    private final Process process;
    private final HttpClient http = HttpClient.newBuilder()
            .proxy(HttpClient.Builder.NO_PROXY)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    final String url;

    Simulator(String binary) throws IOException {
        process = new ProcessBuilder(binary, "--listen", "127.0.0.1:0", "--username", USER, "--password", PASSWORD,
                "--customer", "manual", "--exit-on-stdin-eof")
                .redirectError(ProcessBuilder.Redirect.DISCARD) // its request log
                .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String first = out.readLine();
        String prefix = "listening on ";
        if (first == null || !first.startsWith(prefix)) {
            close();
            throw new IllegalStateException("the simulator did not start: " + first);
        }
        url = first.substring(prefix.length()).trim();
    }

    KlarnaConfig config() {
        return config(PASSWORD);
    }

    KlarnaConfig config(String password) {
        return new KlarnaConfig().apiUrl(url).username(USER).password(password)
                .userAgent("klarna-pos-java-tests/1.0").pollIntervalMs(100);
    }

    /** One control request: the HTTP status and the answer's text. */
    HttpResponse<String> request(String method, String path, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(10));
        if (body != null) {
            b.header("Content-Type", "application/json");
            b.method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(method + " " + path + ": " + e, e);
        }
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> get(String path) {
        HttpResponse<String> r = request("GET", path, null);
        Check.equal(200, r.statusCode(), "GET " + path);
        return (Map<String, Object>) JsonReader.parse(r.body());
    }

    Map<String, Object> session(String id) {
        return get("/_sim/sessions/" + id);
    }

    Map<String, Object> stats() {
        return get("/_sim/stats");
    }

    /** The customer's side: scan, approve ({"order_id"}), cancel, fail ({"code"}), expire. */
    void customer(String id, String action, String body) {
        HttpResponse<String> r = request("POST", "/_sim/sessions/" + id + "/" + action, body == null ? "{}" : body);
        Check.equal(200, r.statusCode(), action + ": " + r.body());
    }

    void fault(String ruleJson) {
        Check.equal(200, request("POST", "/_sim/faults", ruleJson).statusCode(), "fault " + ruleJson);
    }

    static long number(Map<String, Object> obj, String key) {
        return ((Number) obj.get(key)).longValue();
    }

    /** Polls {@code condition} until it holds; fails after 10 s. */
    static void waitUntil(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(10);
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
