using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

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

    private readonly StringBuilder _text = new();
    private readonly int _mask;
    private bool _first = true;

    public KeyTextWriter(int mask) => _mask = mask;

    /// <summary>Encodes the key-relevant arguments of <paramref name="key"/> (those in <paramref name="mask"/>).</summary>
    public static string Encode<TKey>(in TKey key, int mask)
        where TKey : struct, IArgsKey<TKey>
    {
        var writer = new KeyTextWriter(mask);
        key.WriteText(writer);
        return writer.ToString();
    }

    public void Write<T>(int index, T value)
    {
        if ((_mask & (1 << index)) == 0)
        {
            return;
        }

        Separate();
        ArgText<T>.Append(_text, value);
    }

    /// <summary>Writes the <c>KeyBy</c> string (always part of the key).</summary>
    public void WriteString(string text)
    {
        Separate();
        ArgText.AppendEscaped(_text, text);
    }

    public override string ToString()
    {
        if (_text.Length <= MaxReadableLength)
        {
            return _text.ToString();
        }

        var bytes = Encoding.UTF8.GetBytes(_text.ToString());
        return "#" + Convert.ToHexString(SHA256.HashData(bytes));
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

    /// <summary>
    /// The JSON options of records and other objects: numbers and dates are written the way top-level arguments are,
    /// so values their type's Equals calls equal (-0 and 0, 1.0m and 1.00m, one instant in two Kinds or offsets)
    /// give equal text, and NaN or infinities (which JSON cannot write) do not make the call fail.
    /// </summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        Converters = { new TextConverter<double>(Number), new TextConverter<float>(Number), new TextConverter<Half>(v => Number((double)v)), new TextConverter<decimal>(Number), new TextConverter<DateTime>(Date, quoted: true), new TextConverter<DateTimeOffset>(Instant, quoted: true) },
    };

    /// <summary>Shortest round-trip text; -0 is written as 0 because the two are equal.</summary>
    public static string Number(double value) => (value == 0 ? 0d : value).ToString("R", CultureInfo.InvariantCulture);

    public static string Number(float value) => (value == 0 ? 0f : value).ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Decimals that are equal (1.0 and 1.00) are written alike: trailing zeros removed.</summary>
    public static string Number(decimal value) => (value / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture);

    /// <summary>The ticks of a date, without its Kind (which <see cref="DateTime.Equals(DateTime)"/> ignores).</summary>
    public static string Date(DateTime value) => value.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture);

    /// <summary>The instant in UTC (two offsets of one instant are equal).</summary>
    public static string Instant(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

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

/// <summary>The text encoder of one argument type, chosen once per type.</summary>
internal static class ArgText<T>
{
    private static readonly Action<StringBuilder, T> Encoder = Create();

    public static void Append(StringBuilder sb, T value)
    {
        if (value is null)
        {
            sb.Append(ArgText.Null);
            return;
        }

        Encoder(sb, value);
    }

    private static Action<StringBuilder, T> Create()
    {
        var type = typeof(T);
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            // Null was handled by Append; a boxed Nullable<U> is a boxed U.
            var method = typeof(ArgText<T>).GetMethod(nameof(ForNullable), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(underlying);
            return (Action<StringBuilder, T>)method.Invoke(null, null)!;
        }

        if (type.IsEnum)
        {
            return static (sb, v) => sb.Append(EnumNumber(v));
        }

        return type switch
        {
            _ when type == typeof(string) => static (sb, v) => ArgText.AppendEscaped(sb, (string)(object)v!),
            _ when type == typeof(bool) => static (sb, v) => sb.Append(As<bool>(v) ? "true" : "false"),
            _ when type == typeof(char) => static (sb, v) => ArgText.AppendEscaped(sb, As<char>(v).ToString()),
            _ when type == typeof(double) => static (sb, v) => sb.Append(ArgText.Number(As<double>(v))),
            _ when type == typeof(float) => static (sb, v) => sb.Append(ArgText.Number(As<float>(v))),
            _ when type == typeof(Half) => static (sb, v) => sb.Append(ArgText.Number((double)As<Half>(v))),
            _ when type == typeof(decimal) => static (sb, v) => sb.Append(ArgText.Number(As<decimal>(v))),
            _ when type == typeof(Guid) => static (sb, v) => sb.Append(As<Guid>(v).ToString("D")),
            _ when type == typeof(DateTime) => static (sb, v) => sb.Append(ArgText.Date(As<DateTime>(v))),
            _ when type == typeof(DateTimeOffset) => static (sb, v) => sb.Append(ArgText.Instant(As<DateTimeOffset>(v))),
            _ when type == typeof(TimeSpan) => static (sb, v) => sb.Append(As<TimeSpan>(v).ToString("c", CultureInfo.InvariantCulture)),
            _ when type == typeof(DateOnly) => static (sb, v) => sb.Append(As<DateOnly>(v).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
            _ when type == typeof(TimeOnly) => static (sb, v) => sb.Append(As<TimeOnly>(v).ToString("HH:mm:ss.fffffff", CultureInfo.InvariantCulture)),
            _ when type == typeof(byte[]) => static (sb, v) => ArgText.AppendEscaped(sb, Convert.ToBase64String((byte[])(object)v!)),
            _ when typeof(IFormattable).IsAssignableFrom(type) && type.IsPrimitive => static (sb, v) => sb.Append(((IFormattable)v!).ToString(null, CultureInfo.InvariantCulture)),
            _ when type == typeof(Int128) || type == typeof(UInt128) => static (sb, v) => sb.Append(((IFormattable)v!).ToString(null, CultureInfo.InvariantCulture)),
            _ => static (sb, v) => ArgText.AppendEscaped(sb, JsonSerializer.Serialize(v, ArgText.Json)),
        };
    }

    private static Action<StringBuilder, T> ForNullable<TUnderlying>()
        where TUnderlying : struct
        => static (sb, v) => ArgText<TUnderlying>.Append(sb, (TUnderlying)(object)v!);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TTo As<TTo>(T value) => Unsafe.As<T, TTo>(ref value);

    private static string EnumNumber(T value)
    {
        var underlying = Enum.GetUnderlyingType(typeof(T));
        return Type.GetTypeCode(underlying) switch
        {
            TypeCode.SByte => As<sbyte>(value).ToString(CultureInfo.InvariantCulture),
            TypeCode.Byte => As<byte>(value).ToString(CultureInfo.InvariantCulture),
            TypeCode.Int16 => As<short>(value).ToString(CultureInfo.InvariantCulture),
            TypeCode.UInt16 => As<ushort>(value).ToString(CultureInfo.InvariantCulture),
            TypeCode.Int32 => As<int>(value).ToString(CultureInfo.InvariantCulture),
            TypeCode.UInt32 => As<uint>(value).ToString(CultureInfo.InvariantCulture),
            TypeCode.Int64 => As<long>(value).ToString(CultureInfo.InvariantCulture),
            _ => As<ulong>(value).ToString(CultureInfo.InvariantCulture),
        };
    }

}

/// <summary>Writes a value inside JSON as the key text of a top-level argument of its type (keys are never read back).</summary>
internal sealed class TextConverter<T>(Func<T, string> text, bool quoted = false) : System.Text.Json.Serialization.JsonConverter<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => throw new NotSupportedException("Key text is never read back.");

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        if (quoted)
        {
            writer.WriteStringValue(text(value));
        }
        else
        {
            // Raw, so NaN and infinities (no JSON number) stay distinct from the strings "NaN" and "Infinity".
            writer.WriteRawValue(text(value), skipInputValidation: true);
        }
    }

    public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
        => writer.WritePropertyName(text(value));
}
