// A small JSON reader, for the library's answers the binding returns parsed (the history report
// and records) and for the tests (the simulator's answers, orders, the journal): objects become
// IDictionary<string, object>, arrays IList<object>, integers long, other numbers double, plus
// string, bool and null. The runtime's own JSON serializers are not part of every Mono install.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace KlarnaPos
{
    internal sealed class JsonReader
    {
        private const int MaxDepth = 64;
        private readonly string text;
        private int at;

        private JsonReader(string text)
        {
            this.text = text;
        }

        /// <summary>The value of a JSON document; FormatException when it is not JSON.</summary>
        internal static object Parse(string text)
        {
            if (text == null)
                throw new FormatException("no JSON text");
            var reader = new JsonReader(text);
            object value = reader.Value(0);
            reader.SkipSpace();
            if (reader.at != text.Length)
                throw reader.Error("text after the value");
            return value;
        }

        /// <summary>The string member <paramref name="key"/>, or null when absent or not a string.</summary>
        internal static string Text(IDictionary<string, object> obj, string key)
        {
            object value;
            return obj.TryGetValue(key, out value) ? value as string : null;
        }

        /// <summary>The integer member <paramref name="key"/>, or null when absent or not an integer.</summary>
        internal static long? Number(IDictionary<string, object> obj, string key)
        {
            object value;
            return obj.TryGetValue(key, out value) && value is long ? (long?)value : null;
        }

        private FormatException Error(string what)
        {
            return new FormatException("invalid JSON at offset " + at + ": " + what);
        }

        private void SkipSpace()
        {
            while (at < text.Length && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r'))
                at++;
        }

        private char Peek()
        {
            if (at >= text.Length)
                throw Error("unexpected end");
            return text[at];
        }

        private void Expect(string word)
        {
            if (string.CompareOrdinal(text, at, word, 0, word.Length) != 0)
                throw Error("expected " + word);
            at += word.Length;
        }

        private object Value(int depth)
        {
            if (depth > MaxDepth)
                throw Error("nested too deeply");
            SkipSpace();
            char c = Peek();
            switch (c)
            {
                case '{': return Object(depth);
                case '[': return Array(depth);
                case '"': return String();
                case 't': Expect("true"); return true;
                case 'f': Expect("false"); return false;
                case 'n': Expect("null"); return null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9'))
                        return Number();
                    throw Error("unexpected character");
            }
        }

        private IDictionary<string, object> Object(int depth)
        {
            var obj = new Dictionary<string, object>();
            at++; // {
            SkipSpace();
            if (Peek() == '}')
            {
                at++;
                return obj;
            }
            for (;;)
            {
                SkipSpace();
                if (Peek() != '"')
                    throw Error("expected a member name");
                string key = String();
                SkipSpace();
                Expect(":");
                obj[key] = Value(depth + 1);
                SkipSpace();
                char c = Peek();
                at++;
                if (c == '}')
                    return obj;
                if (c != ',')
                    throw Error("expected , or }");
            }
        }

        private IList<object> Array(int depth)
        {
            var list = new List<object>();
            at++; // [
            SkipSpace();
            if (Peek() == ']')
            {
                at++;
                return list;
            }
            for (;;)
            {
                list.Add(Value(depth + 1));
                SkipSpace();
                char c = Peek();
                at++;
                if (c == ']')
                    return list;
                if (c != ',')
                    throw Error("expected , or ]");
            }
        }

        private string String()
        {
            var sb = new StringBuilder();
            at++; // "
            for (;;)
            {
                char c = Peek();
                at++;
                if (c == '"')
                    return sb.ToString();
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                char e = Peek();
                at++;
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        // UTF-16 code units, so a surrogate pair arrives as two escapes in a row.
                        if (at + 4 > text.Length)
                            throw Error("short \\u escape");
                        int unit;
                        if (!int.TryParse(text.Substring(at, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out unit))
                            throw Error("bad \\u escape");
                        sb.Append((char)unit);
                        at += 4;
                        break;
                    default:
                        throw Error("bad escape");
                }
            }
        }

        private object Number()
        {
            int start = at;
            while (at < text.Length && "+-0123456789.eE".IndexOf(text[at]) >= 0)
                at++;
            string literal = text.Substring(start, at - start);
            long integer;
            if (literal.IndexOfAny(new[] { '.', 'e', 'E' }) < 0 &&
                long.TryParse(literal, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out integer))
                return integer;
            double value;
            if (!double.TryParse(literal, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
                throw Error("bad number");
            return value;
        }
    }
}
