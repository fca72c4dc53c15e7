using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace CachifyNet.Internal;

/// <summary>
/// Writes the argument part of a key as stable, culture-invariant text, for backends shared across
/// processes. The encoding is injective for the supported types: arguments are separated by ',' and
/// every ',' '%' '~' '#' '{' '}', white space and control character inside a value is percent-escaped (its UTF-8
/// bytes as %XX), and so is a lone surrogate (as %uXXXX: it has no UTF-8 form);
/// null is '~'; equal values (by <see cref="EqualityComparer{T}.Default"/>) give equal text.
/// A part longer than <see cref="MaxReadableLength"/> characters is replaced by '#' and its SHA-256.
/// </summary>
internal sealed class KeyTextWriter
{
    /// <summary>Argument parts up to this length stay readable; longer ones are hashed.</summary>
    public const int MaxReadableLength = 128;

    [ThreadStatic]
    private static KeyTextWriter? _cached;

    private readonly StringBuilder _text = new();
    private int _mask;
    private Func<object, Type, string> _objectText;
    private bool _first = true;

    public KeyTextWriter(int mask, Func<object, Type, string> objectText)
    {
        _mask = mask;
        _objectText = objectText;
    }

    /// <summary>
    /// Encodes the key-relevant arguments of <paramref name="key"/> (those in <paramref name="mask"/>).
    /// <paramref name="objectText"/> writes arguments of other than built-in types (the backend's choice, e.g. JSON),
    /// given the value and its declared type.
    /// </summary>
    public static string Encode<TKey>(in TKey key, int mask, Func<object, Type, string> objectText)
        where TKey : struct, IArgsKey<TKey>
        => Encode(in key, mask, objectText, string.Empty, string.Empty);

    /// <summary>
    /// Encodes the argument part between <paramref name="prefix"/> and <paramref name="suffix"/>, building the whole
    /// key in one string with a builder reused by the thread (the read path of a shared backend calls this per call).
    /// </summary>
    public static string Encode<TKey>(in TKey key, int mask, Func<object, Type, string> objectText, string prefix, string suffix)
        where TKey : struct, IArgsKey<TKey>
    {
        var writer = _cached ?? new KeyTextWriter(mask, objectText);
        _cached = null;
        writer.Reset(mask, objectText);
        key.WriteText(writer);
        var text = writer.Build(prefix, suffix);
        if (writer._text.Capacity <= 1024)
        {
            _cached = writer;
        }

        return text;
    }

    public void Write<T>(int index, T value)
    {
        if ((_mask & (1 << index)) == 0)
        {
            return;
        }

        Separate();
        ArgText<T>.Append(_text, value, _objectText);
    }

    /// <summary>Writes an object instance of this process (memory keys only: shared backends refuse instances at bind).</summary>
    public void WriteInstance(long id)
    {
        Separate();
        _text.Append("#i").Append(id);
    }

    /// <summary>Writes a value a closure captured: as an argument of its type is written (a snapshot is already its object text).</summary>
    public void WriteCaptured(object? value, CapturedValue captured)
    {
        Separate();
        if (value is null)
        {
            _text.Append(ArgText.Null);
        }
        else if (value is InstanceKey instance)
        {
            _text.Append("#i").Append(instance.Id);
        }
        else if (captured.Kind == KeyKind.Content)
        {
            ArgText.AppendEscaped(_text, (string)value);
        }
        else if (!ArgText.IsKnown(Nullable.GetUnderlyingType(captured.Type) ?? captured.Type) || !ArgText.TryAppendKnown(_text, value))
        {
            ArgText.AppendEscaped(_text, _objectText(value, captured.Type));
        }
    }

    /// <summary>Writes the <c>KeyBy</c> string (always part of the key).</summary>
    public void WriteString(string text)
    {
        Separate();
        ArgText.AppendEscaped(_text, text);
    }

    public override string ToString() => Build(string.Empty, string.Empty);

    private void Reset(int mask, Func<object, Type, string> objectText)
    {
        _text.Clear();
        _mask = mask;
        _objectText = objectText;
        _first = true;
    }

    private string Build(string prefix, string suffix)
    {
        if (_text.Length <= MaxReadableLength)
        {
            return _text.Insert(0, prefix).Append(suffix).ToString();
        }

        var bytes = Encoding.UTF8.GetBytes(_text.ToString());
        return string.Concat(prefix, "#", Convert.ToHexString(SHA256.HashData(bytes)), suffix);
    }

    private void Separate()
    {
        if (!_first)
        {
            _text.Append(',');
        }

        _first = false;
    }
}

/// <summary>Which argument types have a stable text form, and the shared escaping.</summary>
internal static class ArgText
{
    /// <summary>Null is written as this character, which never starts an escaped value.</summary>
    public const char Null = '~';

    /// <summary>
    /// Whether values of <paramref name="type"/> have a stable text form. <see cref="object"/>, delegates,
    /// reflection objects, streams and tasks do not (their text would depend on the runtime type or identity).
    /// </summary>
    public static bool IsSupported(Type type, out string reason)
    {
        reason = string.Empty;
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(object))
        {
            reason = "it is declared as object, so its text would depend on the runtime type";
        }
        else if (typeof(Delegate).IsAssignableFrom(underlying))
        {
            reason = "it is a delegate";
        }
        else if (typeof(MemberInfo).IsAssignableFrom(underlying) || underlying == typeof(Type))
        {
            reason = "it is a reflection object";
        }
        else if (typeof(Stream).IsAssignableFrom(underlying) || typeof(Task).IsAssignableFrom(underlying) || underlying == typeof(CancellationToken))
        {
            reason = "it has no stable value";
        }
        else if (underlying.IsPointer || underlying == typeof(IntPtr) || underlying == typeof(UIntPtr))
        {
            reason = "it is a pointer";
        }

        return reason.Length == 0;
    }

    /// <summary>Whether <paramref name="type"/> has a built-in text form (numbers, text, dates, Guid, enums, byte arrays).</summary>
    public static bool IsKnown(Type type)
        => type.IsEnum || type.IsPrimitive || type == typeof(string) || type == typeof(decimal) || type == typeof(Half)
        || type == typeof(Int128) || type == typeof(UInt128) || type == typeof(Guid) || type == typeof(DateTime)
        || type == typeof(DateTimeOffset) || type == typeof(TimeSpan) || type == typeof(DateOnly) || type == typeof(TimeOnly)
        || type == typeof(byte[]);

    /// <summary>
    /// Writes a value of a built-in type, culture-invariant and so that equal values give equal text:
    /// -0 as 0, decimals without trailing zeros, dates by their ticks (not their kind), offsets as UTC, enums as numbers.
    /// </summary>
    public static bool TryAppendKnown(StringBuilder sb, object value)
    {
        switch (value)
        {
            case string text:
                AppendEscaped(sb, text);
                return true;
            case bool flag:
                sb.Append(flag ? "true" : "false");
                return true;
            case char c:
                AppendEscaped(sb, c.ToString());
                return true;
            case Enum e:
                sb.Append(Type.GetTypeCode(Enum.GetUnderlyingType(e.GetType())) is TypeCode.UInt64 or TypeCode.UInt32 or TypeCode.UInt16 or TypeCode.Byte
                    ? Convert.ToUInt64(e, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)
                    : Convert.ToInt64(e, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
                return true;
            case double d:
                sb.Append(Number(d));
                return true;
            case float f:
                sb.Append(Number(f));
                return true;
            case Half h:
                sb.Append(Number((double)h));
                return true;
            case decimal m:
                sb.Append(Number(m));
                return true;
            case Guid g:
                sb.Append(g.ToString("D"));
                return true;
            case DateTime t:
                sb.Append(Date(t));
                return true;
            case DateTimeOffset o:
                sb.Append(Instant(o));
                return true;
            case TimeSpan span:
                sb.Append(span.ToString("c", CultureInfo.InvariantCulture));
                return true;
            case DateOnly date:
                sb.Append(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                return true;
            case TimeOnly time:
                sb.Append(time.ToString("HH:mm:ss.fffffff", CultureInfo.InvariantCulture));
                return true;
            case byte[] bytes:
                AppendEscaped(sb, Convert.ToBase64String(bytes));
                return true;
            case IFormattable number when value.GetType().IsPrimitive || value is Int128 || value is UInt128:
                sb.Append(number.ToString(null, CultureInfo.InvariantCulture));
                return true;
            default:
                return false;
        }
    }

    /// <summary>Shortest round-trip text; -0 is written as 0 because the two are equal.</summary>
    public static string Number(double value) => (value == 0 ? 0d : value).ToString("R", CultureInfo.InvariantCulture);

    public static string Number(float value) => (value == 0 ? 0f : value).ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Decimals that are equal (1.0 and 1.00) are written alike: trailing zeros removed.</summary>
    public static string Number(decimal value) => (value / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture);

    /// <summary>The ticks of a date, without its Kind (which <see cref="DateTime.Equals(DateTime)"/> ignores).</summary>
    public static string Date(DateTime value) => value.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture);

    /// <summary>The instant in UTC (two offsets of one instant are equal).</summary>
    public static string Instant(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Whether <see cref="AppendEscaped"/> would change <paramref name="value"/>.</summary>
    public static bool NeedsEscape(string value)
    {
        foreach (var c in value)
        {
            if (char.IsSurrogate(c) || c is ',' or '%' or '~' or '#' or '{' or '}' || char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return true;
            }
        }

        return false;
    }

    public static void AppendEscaped(StringBuilder sb, string value)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    sb.Append(c).Append(value[++i]);
                }
                else
                {
                    // A lone surrogate has no UTF-8 form: written raw, every one of them would reach Redis as U+FFFD
                    // and different strings would share a key. '%u' never starts a byte escape ('%' + two hex digits).
                    sb.Append("%u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                }

                continue;
            }

            if (c is ',' or '%' or '~' or '#' or '{' or '}' || char.IsWhiteSpace(c) || char.IsControl(c))
            {
                if (c < 0x80)
                {
                    sb.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
                }
                else
                {
                    var count = Encoding.UTF8.GetBytes([c], utf8);
                    for (var b = 0; b < count; b++)
                    {
                        sb.Append('%').Append(utf8[b].ToString("X2", CultureInfo.InvariantCulture));
                    }
                }
            }
            else
            {
                sb.Append(c);
            }
        }
    }
}

/// <summary>Whether values of one argument type are written by <see cref="ArgText.TryAppendKnown"/>, decided once per type.</summary>
internal static class ArgText<T>
{
    /// <summary>True for the built-in types (and their nullable forms, and enums); others go through the backend's object text.</summary>
    public static readonly bool Known = ArgText.IsKnown(Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T));

    public static void Append(StringBuilder sb, T value, Func<object, Type, string> objectText)
    {
        if (value is null)
        {
            sb.Append(ArgText.Null);
        }
        else if (value is string text)
        {
            ArgText.AppendEscaped(sb, text);
        }
        else if (!Known || !ArgText.TryAppendKnown(sb, value))
        {
            // Records and other objects: the backend's stable text (Redis: JSON of the declared type).
            ArgText.AppendEscaped(sb, objectText(value, typeof(T)));
        }
    }
}
