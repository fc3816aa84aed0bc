using System;

namespace KlarnaPos
{
    /// <summary>What <see cref="Qr.Render"/> produces, with the numbers of KPOS_QR_*.</summary>
    public enum QrFormat : uint
    {
        /// <summary>SVG document (UTF-8), 8 user units per module, black on white.</summary>
        Svg = 1,
        /// <summary>PNG image, 1-bit grayscale, 8 pixels per module, black on white.</summary>
        Png = 2,
        /// <summary>UTF-8 half blocks, two module rows per line; the characters draw the light
        /// modules (for the usual light-on-dark terminal).</summary>
        Text = 3,
        /// <summary>ESC/POS raster bit image (GS v 0), at most 384 dots wide (58 and 80 mm
        /// printers).</summary>
        EscPos = 4,
        /// <summary>ESC/POS GS ( k commands: the printer draws the code itself (it must support
        /// them).</summary>
        EscPosNative = 5,
        /// <summary>As Text, with the characters drawing the dark modules (dark-on-light
        /// displays).</summary>
        TextInverse = 6,
    }

    /// <summary>QR codes drawn locally, for tills that cannot show Klarna's QR image (character
    /// displays, receipt printers, a customer screen fed by a bitmap).</summary>
    public static class Qr
    {
        /// <summary>Draws <paramref name="text"/> (e.g. <see cref="KlarnaSession.PaymentLink"/>)
        /// as a QR code with error correction level M and a quiet zone of 4 modules. No network
        /// traffic. SVG and the text formats are UTF-8 (Encoding.UTF8.GetString them). Throws
        /// KlarnaBadRequestException for an empty text or one too long for a QR code (more than
        /// 2331 bytes), KlarnaInvalidArgumentException for an unknown format.</summary>
        public static byte[] Render(string text, QrFormat format)
        {
            KlarnaLibrary.EnsureCompatible();
            byte[] native = Utf8.ToNative(text ?? throw new ArgumentNullException("text"), "text");
            IntPtr bytes;
            UIntPtr length;
            KlarnaException.Check(Native.kpos_qr_render(native, (uint)format, out bytes, out length));
            return Utf8.TakeBytes(bytes, length);
        }
    }
}
