using System.Buffers;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace CachifyNet;

/// <summary>
/// Serializes cached results as UTF-8 JSON with System.Text.Json. No type names are written: the payload of a
/// <c>User</c> is the JSON of its members, read back as the cached function's result type.
/// </summary>
/// <remarks>
/// <para>
/// On top of the options given, the serializer writes and reads public fields (so value tuples and field structs
/// round-trip), <c>NaN</c> and infinities, and sets properties through their non-public setters
/// (<c>{ get; private set; }</c>). Records, init-only properties, constructor-bound types, immutable collections,
/// dictionaries keyed by primitives, <see cref="DateTimeOffset"/> (with its offset) and <see cref="decimal"/> (with its
/// scale) round-trip as well.
/// </para>
/// <para>
/// When a wrapper is bound to a backend that stores entries outside the process (Redis, a store) with this serializer, its result type is checked
/// against these options: a type that would come back with less state than it had is refused with the fix (see
/// <see cref="ICacheSerializer"/>). Pass <see cref="JsonSerializerOptions"/> with a source-generated
/// <c>JsonSerializerContext</c> for trimmed or native AOT applications, or to change naming and converters; they are
/// copied, and the copy gets the settings above.
/// </para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Reflection-based contracts are the default; a trimmed app passes options with a source-generated JsonSerializerContext (see remarks), which is used as given.")]
[System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = "As above: a native AOT app passes a source-generated JsonSerializerContext.")]
public sealed class SystemTextJsonCacheSerializer : ICacheSerializer
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    /// <summary>Creates a serializer.</summary>
    /// <param name="options">The JSON options (copied); null for <see cref="JsonSerializerDefaults.General"/> defaults.</param>
    public SystemTextJsonCacheSerializer(JsonSerializerOptions? options = null)
    {
        Options = RoundTripOptions(options);
    }

    /// <summary>Gets the serializer with default options, used when a backend's <c>Serializer</c> option is not set.</summary>
    public static SystemTextJsonCacheSerializer Default { get; } = new();

    /// <summary>The options in use: the given ones plus the round-trip settings (read-only).</summary>
    internal JsonSerializerOptions Options { get; }

    /// <inheritdoc />
    public void Serialize<T>(T value, IBufferWriter<byte> destination)
    {
        using var writer = new Utf8JsonWriter(destination, WriterOptions);
        JsonSerializer.Serialize(writer, value, Options);
    }

    /// <inheritdoc />
    public T Deserialize<T>(ReadOnlySpan<byte> source) => JsonSerializer.Deserialize<T>(source, Options)!;

    private static JsonSerializerOptions RoundTripOptions(JsonSerializerOptions? given)
    {
        var options = given is null ? new JsonSerializerOptions(JsonSerializerDefaults.General) : new JsonSerializerOptions(given);
        options.IncludeFields = true;
        options.NumberHandling |= JsonNumberHandling.AllowNamedFloatingPointLiterals;
        options.TypeInfoResolver = (options.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(SetThroughNonPublicSetters);
        if (!options.Converters.Any(static c => c.CanConvert(typeof(string))))
        {
            options.Converters.Add(WholeStringConverter.Instance);
        }

        options.MakeReadOnly();
        return options;
    }

    /// <summary>A public property with a non-public setter (<c>{ get; private set; }</c>) is read back through that setter.</summary>
    private static void SetThroughNonPublicSetters(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }

        foreach (var property in info.Properties)
        {
            if (property.Set is null && property.Get is not null && property.AttributeProvider is PropertyInfo { SetMethod: { IsPublic: false } setter } clr
                && clr.GetIndexParameters().Length == 0)
            {
                property.Set = Setter(setter, clr);
            }
        }
    }

    /// <summary>A compiled call of a class's setter (no reflection per value read); a struct's through reflection, on the boxed value.</summary>
    private static Action<object, object?> Setter(MethodInfo setter, PropertyInfo property)
    {
        if (setter.IsStatic || property.DeclaringType is not { IsValueType: false } declaring)
        {
            return (target, value) => setter.Invoke(target, [value]);
        }

        try
        {
            return (Action<object, object?>)typeof(SystemTextJsonCacheSerializer)
                .GetMethod(nameof(TypedSetter), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(declaring, property.PropertyType)
                .Invoke(null, [setter])!;
        }
        catch (Exception error) when (error is NotSupportedException or InvalidOperationException or ArgumentException or TargetInvocationException)
        {
            return (target, value) => setter.Invoke(target, [value]);
        }
    }

    private static Action<object, object?> TypedSetter<TTarget, TValue>(MethodInfo setter)
        where TTarget : class
    {
        var typed = setter.CreateDelegate<Action<TTarget, TValue>>();
        return (target, value) => typed((TTarget)target, (TValue)value!);
    }

    /// <summary>
    /// Strings as System.Text.Json writes them, except that one with a lone surrogate (invalid UTF-16) is refused
    /// instead of being written with U+FFFD in its place: it could not come back as it was, so it is not stored.
    /// </summary>
    private sealed class WholeStringConverter : JsonConverter<string>
    {
        public static readonly WholeStringConverter Instance = new();

        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString();

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(Whole(value));

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString()!;

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(Whole(value));

        private static string Whole(string value)
        {
            var text = value.AsSpan();
            for (var i = text.IndexOfAnyInRange('\uD800', '\uDFFF'); i >= 0 && i < text.Length;)
            {
                if (!char.IsHighSurrogate(text[i]) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    throw new JsonException($"The string has a lone surrogate (U+{(int)text[i]:X4}) at index {i}, which JSON cannot carry: it would come back as U+FFFD.");
                }

                var next = text[(i + 2)..].IndexOfAnyInRange('\uD800', '\uDFFF');
                i = next < 0 ? -1 : i + 2 + next;
            }

            return value;
        }
    }
}
