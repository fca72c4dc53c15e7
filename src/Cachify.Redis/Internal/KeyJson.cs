using System.Text.Json;
using System.Text.Json.Serialization;
using CachifyNet.Internal;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// The JSON of record and other object arguments in Redis keys. Numbers and dates inside them are written the way
/// top-level arguments are, so values their type's Equals calls equal (-0 and 0, 1.0m and 1.00m, one instant in
/// two Kinds or offsets) give equal text, and NaN or infinities (which JSON cannot write) do not make the call fail.
/// Strings inside them are escaped like top-level string arguments, because JSON writes every lone surrogate as
/// U+FFFD (two different strings would share a key). The options are fixed, so keys do not change with the value
/// serializer's options.
/// </summary>
internal static class KeyJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = false,
        Converters =
        {
            new TextConverter<double>(ArgText.Number),
            new TextConverter<float>(ArgText.Number),
            new TextConverter<Half>(v => ArgText.Number((double)v)),
            new TextConverter<decimal>(ArgText.Number),
            new TextConverter<DateTime>(ArgText.Date, quoted: true),
            new TextConverter<DateTimeOffset>(ArgText.Instant, quoted: true),
            new TextConverter<string>(Escaped, quoted: true),
        },
    };

    /// <summary>The text of an argument that is not a built-in type: its JSON, as its declared type.</summary>
    public static string Text(object value, Type declaredType) => JsonSerializer.Serialize(value, declaredType, Options);

    private static string Escaped(string value)
    {
        var text = new System.Text.StringBuilder(value.Length);
        ArgText.AppendEscaped(text, value);
        return text.ToString();
    }

    /// <summary>Writes a value inside JSON as the key text of a top-level argument of its type (keys are never read back).</summary>
    private sealed class TextConverter<T>(Func<T, string> text, bool quoted = false) : JsonConverter<T>
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
}
