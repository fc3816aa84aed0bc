package klarnapos;

/** What {@link KlarnaClient#verifyWebhook} learned from a verified callback. */
public final class WebhookResult {
    private final String sessionId;
    private final SessionStatus status;

    WebhookResult(String sessionId, SessionStatus status) {
        this.sessionId = sessionId;
        this.status = status;
    }

    /** Klarna's id of the session the callback was about. */
    public String sessionId() {
        return sessionId;
    }

    /** The session's status after the callback was merged (COMPLETED stays COMPLETED). */
    public SessionStatus status() {
        return status;
    }
}
