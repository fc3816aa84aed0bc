package klarnapos;

/** A count and a sum of amounts in minor units (exact), of one outcome in one currency. */
public final class OutcomeTotal {
    private final long count;
    private final long amount;

    OutcomeTotal(long count, long amount) {
        this.count = count;
        this.amount = amount;
    }

    /** How many items had the outcome. */
    public long count() {
        return count;
    }

    /** Their amounts added up, in minor units. */
    public long amount() {
        return amount;
    }

    @Override
    public String toString() {
        return count + " / " + amount;
    }
}
