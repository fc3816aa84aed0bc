package klarnapos;

/** What {@link Qr#render} produces, with the numbers of KPOS_QR_*. */
public enum QrFormat {
    /** SVG document (UTF-8), 8 user units per module, black on white. */
    SVG(1),
    /** PNG image, 1-bit grayscale, 8 pixels per module, black on white. */
    PNG(2),
    /** UTF-8 half blocks, two module rows per line; the characters draw the light modules (for
     * the usual light-on-dark terminal). */
    TEXT(3),
    /** ESC/POS raster bit image (GS v 0), at most 384 dots wide (58 and 80 mm printers). */
    ESCPOS(4),
    /** ESC/POS GS ( k commands: the printer draws the code itself (it must support them). */
    ESCPOS_NATIVE(5),
    /** As TEXT, with the characters drawing the dark modules (dark-on-light displays). */
    TEXT_INVERSE(6);

    private final int code;

    QrFormat(int code) {
        this.code = code;
    }

    /** The KPOS_QR_* number. */
    public int code() {
        return code;
    }
}
