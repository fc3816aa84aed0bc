package klarnapos;

import com.sun.jna.ptr.PointerByReference;

/** QR codes drawn locally, for tills that cannot show Klarna's QR image (character displays,
 * receipt printers, a customer screen fed by a bitmap). */
public final class Qr {
    private Qr() {
    }

    /**
     * Draws {@code text} (e.g. {@link KlarnaSession#paymentLink()}) as a QR code with error
     * correction level M and a quiet zone of 4 modules. No network traffic. SVG and the text
     * formats are UTF-8 ({@code new String(bytes, UTF_8)}). Throws KlarnaBadRequestException for
     * an empty text or one too long for a QR code (more than 2331 bytes).
     */
    public static byte[] render(String text, QrFormat format) {
        return render(text, format.code());
    }

    /** As {@link #render(String, QrFormat)} with a KPOS_QR_* number: an unknown one is
     * KlarnaInvalidArgumentException. */
    public static byte[] render(String text, int format) {
        if (text == null) {
            throw new NullPointerException("text");
        }
        Ffi.Api lib = Ffi.lib();
        byte[] nativeText = Ffi.utf8(text, "text");
        PointerByReference bytes = new PointerByReference();
        Ffi.SizeTByReference length = new Ffi.SizeTByReference();
        KlarnaException.check(lib.kpos_qr_render(nativeText, format, bytes, length));
        return Ffi.takeBytes(bytes.getValue(), length.getValue());
    }
}
