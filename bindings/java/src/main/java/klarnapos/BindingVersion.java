package klarnapos;

/** This binding's version: Cargo.toml's [package] version and pom.xml's, which
 * bindings/java/build.sh checks are all three the same. */
final class BindingVersion {
    private BindingVersion() {
    }

    static final String VALUE = "0.1.0";
}
