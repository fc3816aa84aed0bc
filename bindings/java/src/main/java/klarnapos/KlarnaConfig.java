package klarnapos;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A client configuration, written as the JSON object the library reads (docs/configuration.md
 * gives each key's type, default and meaning). Only the keys set are written; the library checks
 * them all ({@link KlarnaInvalidArgumentException} with {@link KlarnaException#field()} naming a
 * bad key). {@link #set} writes any other key.
 */
public final class KlarnaConfig {
    private final Map<String, Object> members = new LinkedHashMap<>();

    /** api_url: Klarna's API base URL (or use region and environment). */
    public KlarnaConfig apiUrl(String value) {
        return set("api_url", value);
    }

    /** region: "eu", "na" or "oc", with environment. */
    public KlarnaConfig region(String value) {
        return set("region", value);
    }

    /** environment: "playground" or "production", with region. */
    public KlarnaConfig environment(String value) {
        return set("environment", value);
    }

    /** username: the API credential's user name. */
    public KlarnaConfig username(String value) {
        return set("username", value);
    }

    /** password: the API credential's password (never logged). */
    public KlarnaConfig password(String value) {
        return set("password", value);
    }

    /** user_agent: names the till software in Klarna's logs. */
    public KlarnaConfig userAgent(String value) {
        return set("user_agent", value);
    }

    /** connect_timeout_ms. */
    public KlarnaConfig connectTimeoutMs(int value) {
        return set("connect_timeout_ms", value);
    }

    /** request_timeout_ms. */
    public KlarnaConfig requestTimeoutMs(int value) {
        return set("request_timeout_ms", value);
    }

    /** poll_interval_ms: how often await reads the status. */
    public KlarnaConfig pollIntervalMs(int value) {
        return set("poll_interval_ms", value);
    }

    /** max_retries. */
    public KlarnaConfig maxRetries(int value) {
        return set("max_retries", value);
    }

    /** ca_file: a PEM file of trusted certificates. */
    public KlarnaConfig caFile(String value) {
        return set("ca_file", value);
    }

    /** proxy: an http:// proxy URL, or "" for none. */
    public KlarnaConfig proxy(String value) {
        return set("proxy", value);
    }

    /** allow_insecure_http: plain http to a non-loopback host (tests only). */
    public KlarnaConfig allowInsecureHttp(boolean value) {
        return set("allow_insecure_http", value);
    }

    /** webhook_url: the till backend's endpoint for Klarna's status callbacks. */
    public KlarnaConfig webhookUrl(String value) {
        return set("webhook_url", value);
    }

    /** webhook_poll_interval_ms. */
    public KlarnaConfig webhookPollIntervalMs(int value) {
        return set("webhook_poll_interval_ms", value);
    }

    /** journal_dir: the directory of the crash-safe journal (created when missing). */
    public KlarnaConfig journalDir(String value) {
        return set("journal_dir", value);
    }

    /** Any key: a String, a Number or a Boolean; null removes it. */
    public KlarnaConfig set(String key, Object value) {
        if (value == null) {
            members.remove(key);
        } else if (value instanceof String || value instanceof Number || value instanceof Boolean) {
            members.put(key, value);
        } else {
            throw new IllegalArgumentException(key + ": a String, Number or Boolean is needed");
        }
        return this;
    }

    /** The configuration JSON object the library reads. */
    public String toJson() {
        StringBuilder json = new StringBuilder("{");
        for (Map.Entry<String, Object> e : members.entrySet()) {
            if (json.length() > 1) {
                json.append(',');
            }
            json.append(Json.quote(e.getKey())).append(':');
            Object v = e.getValue();
            json.append(v instanceof String ? Json.quote((String) v) : String.valueOf(v));
        }
        return json.append('}').toString();
    }

    /** The JSON, with the password replaced by "***". */
    @Override
    public String toString() {
        Object password = members.get("password");
        if (password == null) {
            return toJson();
        }
        members.put("password", "***");
        try {
            return toJson();
        } finally {
            members.put("password", password);
        }
    }
}
