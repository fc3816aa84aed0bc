// JSON string quoting, for the configuration and Order Management bodies the binding writes.
// Error details come from the kpos_last_error_* getters; JSON the binding reads goes through
// JsonReader.

using System.Globalization;
using System.Text;

namespace KlarnaPos
{
    internal static class Json
    {
        /// <summary><paramref name="value"/> as a JSON string literal (quotes included).</summary>
        internal static string Quote(string value)
        {
            var sb = new StringBuilder(value.Length + 2);
            sb.Append('"');
            foreach (char c in value)
            {
                if (c == '"' || c == '\\')
                    sb.Append('\\').Append(c);
                else if (c < ' ')
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                else
                    sb.Append(c);
            }
            return sb.Append('"').ToString();
        }
    }
}
