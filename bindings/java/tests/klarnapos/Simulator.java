// The simulator (klarna-pos-sim) as a test fixture: a process on a free loopback port, its
// control endpoints (/_sim/...) as method calls, and a small JSON reader for its answers.

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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
        return (Map<String, Object>) Json.parse(r.body());
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

    /** A JSON reader: objects as LinkedHashMap, arrays as ArrayList, numbers as Long (BigInteger beyond) or Double. */
    static final class Json {
        private final String text;
        private int at;

        private Json(String text) {
            this.text = text;
        }

        static Object parse(String text) {
            Json j = new Json(text);
            Object v = j.value();
            j.space();
            if (j.at != text.length()) {
                throw j.error("trailing text");
            }
            return v;
        }

        private IllegalArgumentException error(String why) {
            return new IllegalArgumentException("JSON: " + why + " at " + at + " of " + text);
        }

        private void space() {
            while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
        }

        private boolean take(char c) {
            space();
            if (at < text.length() && text.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!take(c)) {
                throw error("expected " + c);
            }
        }

        private Object value() {
            space();
            if (at >= text.length()) {
                throw error("end of text");
            }
            char c = text.charAt(at);
            if (c == '{') {
                at++;
                Map<String, Object> obj = new LinkedHashMap<>();
                if (take('}')) {
                    return obj;
                }
                do {
                    space();
                    String key = string();
                    expect(':');
                    obj.put(key, value());
                } while (take(','));
                expect('}');
                return obj;
            }
            if (c == '[') {
                at++;
                List<Object> list = new ArrayList<>();
                if (take(']')) {
                    return list;
                }
                do {
                    list.add(value());
                } while (take(','));
                expect(']');
                return list;
            }
            if (c == '"') {
                return string();
            }
            for (String word : new String[] {"true", "false", "null"}) {
                if (text.startsWith(word, at)) {
                    at += word.length();
                    return word.equals("null") ? null : Boolean.valueOf(word.equals("true"));
                }
            }
            int start = at;
            while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
            String number = text.substring(start, at);
            if (number.isEmpty()) {
                throw error("unexpected " + c);
            }
            if (number.contains(".") || number.contains("e") || number.contains("E")) {
                return Double.valueOf(number);
            }
            try {
                return Long.valueOf(number);
            } catch (NumberFormatException e) {
                return new java.math.BigInteger(number); // beyond a long: kept exact
            }
        }

        private String string() {
            if (at >= text.length() || text.charAt(at) != '"') {
                throw error("expected a string");
            }
            at++;
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (at >= text.length()) {
                    throw error("unterminated string");
                }
                char c = text.charAt(at++);
                if (c == '"') {
                    return sb.toString();
                }
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                char e = text.charAt(at++);
                switch (e) {
                    case 'n': sb.append('\n'); break;
                    case 't': sb.append('\t'); break;
                    case 'r': sb.append('\r'); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'u':
                        sb.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        at += 4;
                        break;
                    default: sb.append(e);
                }
            }
        }
    }
}
