using System.Buffers;
using System.Text.Json;

namespace CachifyNet.Redis;

/// <summary>
/// Serializes cached results as UTF-8 JSON with System.Text.Json. No type names are written: the payload of a
/// <c>User</c> is the JSON of its properties, read back as the cached function's result type.
/// </summary>
/// <remarks>
/// Records and classes with public properties (or a constructor whose parameters match them) round-trip.
/// Pass <see cref="JsonSerializerOptions"/> with a source-generated <c>JsonSerializerContext</c> for trimmed or
/// native AOT applications, or to change naming and converters.
/// </remarks>
public sealed class SystemTextJsonCacheSerializer : ICacheSerializer
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    private readonly JsonSerializerOptions _options;

    /// <summary>Creates a serializer.</summary>
    /// <param name="options">The JSON options; null for <see cref="JsonSerializerDefaults.General"/> defaults.</param>
    public SystemTextJsonCacheSerializer(JsonSerializerOptions? options = null)
    {
        _options = options ?? new JsonSerializerOptions(JsonSerializerDefaults.General);
    }

    /// <summary>Gets the serializer with default options, used when <see cref="RedisCacheOptions.Serializer"/> is not set.</summary>
    public static SystemTextJsonCacheSerializer Default { get; } = new();

    /// <inheritdoc />
    public void Serialize<T>(T value, IBufferWriter<byte> destination)
    {
        using var writer = new Utf8JsonWriter(destination, WriterOptions);
        JsonSerializer.Serialize(writer, value, _options);
    }

    /// <inheritdoc />
    public T Deserialize<T>(ReadOnlySpan<byte> source) => JsonSerializer.Deserialize<T>(source, _options)!;
}
