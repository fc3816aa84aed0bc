// A small JSON reader, for the library's answers the binding returns parsed (the history report
// and records) and for the tests: objects become Map<String, Object> (in order), arrays
// List<Object>, integers Long (BigInteger beyond a long), other numbers Double, plus String,
// Boolean and null. Errors are never read from JSON: the kpos_last_error_* getters give them.

package klarnapos;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

final class JsonReader {
    private static final int MAX_DEPTH = 64;

    private final String text;
    private int at;

    private JsonReader(String text) {
        this.text = text;
    }

    /** The value of a JSON document; IllegalArgumentException when it is not JSON. */
    static Object parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("JSON: no text");
        }
        JsonReader j = new JsonReader(text);
        Object v = j.value(0);
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

    private Object value(int depth) {
        if (depth > MAX_DEPTH) {
            throw error("nested too deeply");
        }
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
                obj.put(key, value(depth + 1));
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
                list.add(value(depth + 1));
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
            if (at >= text.length()) {
                throw error("unterminated string");
            }
            char e = text.charAt(at++);
            switch (e) {
                case 'n': sb.append('\n'); break;
                case 't': sb.append('\t'); break;
                case 'r': sb.append('\r'); break;
                case 'b': sb.append('\b'); break;
                case 'f': sb.append('\f'); break;
                case 'u':
                    if (at + 4 > text.length()) {
                        throw error("short \\u escape");
                    }
                    try {
                        sb.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                    } catch (NumberFormatException bad) {
                        throw error("bad \\u escape");
                    }
                    at += 4;
                    break;
                default: sb.append(e);
            }
        }
    }
}
