// JSON string quoting, for the configuration and Order Management bodies the binding writes.
// The binding reads no JSON: error details come from the kpos_last_error_* getters, and the
// reports it returns are handed over as text.

package klarnapos;

final class Json {
    private Json() {
    }

    /** {@code value} as a JSON string literal (quotes included). */
    static String quote(String value) {
        StringBuilder sb = new StringBuilder(value.length() + 2).append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < ' ') {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }
}
