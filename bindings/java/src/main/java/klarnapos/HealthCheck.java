package klarnapos;

/** What {@link KlarnaClient#check()} found: the result code and the JSON report. */
public final class HealthCheck {
    private final int code;
    private final String reportJson;

    HealthCheck(int code, String reportJson) {
        this.code = code;
        this.reportJson = reportJson;
    }

    /** True when every step passed. */
    public boolean passed() {
        return code == 0;
    }

    /** 0 (KPOS_OK) when every step passed, else the first failing step's code. */
    public int code() {
        return code;
    }

    /** The code's name, e.g. "KPOS_E_PERMISSION_DENIED". */
    public String codeName() {
        return KlarnaLibrary.resultName(code);
    }

    /** The report: {"ok", "code", "code_name", "api_url", "proxy", "trust_store", "ms",
     * "steps": [{"step", "verdict", "ms", "detail", "code", "code_name", "action"}, ...]}, steps
     * dns, tcp, proxy, tls, credentials, clock (docs/operations.md). */
    public String reportJson() {
        return reportJson;
    }

    @Override
    public String toString() {
        return reportJson;
    }
}
