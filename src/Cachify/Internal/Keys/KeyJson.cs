using System.Buffers;
using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

// KeyJson reads the public members of argument types through System.Text.Json's reflection contracts: arguments
// keyed by content need it. Under native AOT, where reflection-based JSON is off, such arguments are refused at bind
// (see Plan.For), so no key is ever written from a partial contract; trimmed members are read by nothing.
#pragma warning disable IL2026, IL2070, IL2075, IL3050

namespace CachifyNet.Internal;

/// <summary>
/// The key text of record, struct, tuple, collection and other object arguments: JSON written from
/// System.Text.Json's contract of each value's type (public properties and public fields), so that two values
/// that differ in anything their type's default equality compares never share a key:
/// <list type="bullet">
/// <item>Built-in values inside are written as top-level arguments are (-0 as 0, 1.00m as 1, dates without their
/// Kind, lone surrogates escaped), so values their Equals calls equal share a key, and NaN does not fail.</item>
/// <item>Where a value's runtime type is not the declared type (an interface, an abstract or base class,
/// <see cref="object"/>), the value carries its type's name: a <c>Circle</c> and a <c>Square</c> with the same
/// members, or <c>1</c> and <c>1L</c>, stay apart.</item>
/// <item>A type whose state JSON would not show (an instance field that no serialized member of its name
/// exposes, e.g. a private <c>_id</c> without an <c>Id</c>) is refused with the fix, at bind time where the
/// declared types show it, else at the call: two different values would share a key.</item>
/// </list>
/// Keys are never read back, so the text need not be parsable, only injective.
/// </summary>
internal static class KeyJson
{
    /// <summary>Deeper than this is taken for a cycle (System.Text.Json's own default limit).</summary>
    private const int MaxDepth = 64;

    /// <summary>
    /// Written (raw, so no JSON string or number can look like it) before the type name of a value whose runtime
    /// type is not its declared type.
    /// </summary>
    private const string TypeMark = "<";

    private static readonly JsonSerializerOptions Contracts = new()
    {
        IncludeFields = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    private static readonly ConcurrentDictionary<Type, Plan> Plans = new();

    /// <summary><see cref="Text"/> as a delegate, for <see cref="KeyTextWriter"/>.</summary>
    public static readonly Func<object, Type, string> ObjectText = Text;

    [ThreadStatic]
    private static Buffers? t_buffers;

    /// <summary>The text of an argument that is not a built-in type, declared as <paramref name="declaredType"/>.</summary>
    /// <exception cref="ArgumentException">The value has no faithful key text (see <see cref="IsKeyable"/>), or is nested more than 64 levels deep.</exception>
    public static string Text(object value, Type declaredType)
    {
        var buffers = t_buffers ?? new Buffers();
        t_buffers = null; // a converter that re-enters Text (through a nested key) gets its own buffers
        try
        {
            buffers.Output.ResetWrittenCount();
            buffers.Writer.Reset(buffers.Output);
            Write(buffers, value, declaredType, depth: 0);
            buffers.Writer.Flush();
            return Encoding.UTF8.GetString(buffers.Output.WrittenSpan);
        }
        finally
        {
            t_buffers = buffers;
        }
    }

    /// <summary>
    /// Whether arguments declared as <paramref name="type"/> can be written into a key, as far as the declared types
    /// show: the type has a stable text form (not <see cref="object"/>, a delegate, a stream, ...), and it and the
    /// types of its members, elements and keys can be written faithfully. Runtime types that differ from the declared
    /// ones are checked at the call.
    /// </summary>
    public static bool IsKeyable(Type type, out string reason)
    {
        if (!ArgText.IsSupported(type, out reason))
        {
            return false;
        }

        var seen = new HashSet<Type>();
        var pending = new Stack<Type>();
        pending.Push(type);
        while (pending.Count > 0)
        {
            var next = Nullable.GetUnderlyingType(pending.Peek()) ?? pending.Peek();
            pending.Pop();
            if (!seen.Add(next) || next == typeof(object) || ArgText.IsKnown(next))
            {
                continue;
            }

            var plan = PlanOf(next);
            if (plan.Refusal is { } refusal)
            {
                reason = refusal;
                return false;
            }

            foreach (var member in plan.Members)
            {
                pending.Push(member.Type);
            }

            if (plan.ElementType is { } element)
            {
                pending.Push(element);
            }

            if (plan.KeyType is { } key)
            {
                pending.Push(key);
            }
        }

        return true;
    }

    private static void Write(Buffers buffers, object? value, Type declaredType, int depth)
    {
        var writer = buffers.Writer;
        if (value is null)
        {
            writer.WriteNullValue();
            return;
        }

        if (depth > MaxDepth)
        {
            throw new ArgumentException(
                $"An argument is nested more than {MaxDepth} levels deep (does it refer to itself?), so it cannot be written into a Redis key. " +
                "Build the key yourself with .KeyBy(...), or leave the argument out with .IgnoreArgs(\"name\").");
        }

        var type = value.GetType();
        var declared = Nullable.GetUnderlyingType(declaredType) ?? declaredType;
        if (type != declared)
        {
            // Polymorphic position: the runtime type is part of the value (Circle vs Square, 1 vs 1L).
            writer.WriteStartArray();
            writer.WriteRawValue(TypeMark, skipInputValidation: true);
            writer.WriteStringValue(TypeName(type));
            Write(buffers, value, type, depth + 1);
            writer.WriteEndArray();
            return;
        }

        if (ArgText.IsKnown(type))
        {
            WriteKnown(buffers, value);
            return;
        }

        var plan = PlanOf(type);
        if (plan.Refusal is { } refusal)
        {
            throw new ArgumentException(
                $"An argument contains a {TypeNames.Short(type)}, which cannot be written into a Redis key: {refusal}. " +
                "Build the key yourself with .KeyBy(...), or leave the argument out with .IgnoreArgs(\"name\").");
        }

        switch (plan.Kind)
        {
            case JsonTypeInfoKind.Object:
                writer.WriteStartObject();
                foreach (var member in plan.Members)
                {
                    writer.WritePropertyName(member.Name);
                    Write(buffers, member.Get(value), member.Type, depth + 1);
                }

                writer.WriteEndObject();
                break;
            case JsonTypeInfoKind.Enumerable:
                writer.WriteStartArray();
                foreach (var item in (IEnumerable)value)
                {
                    Write(buffers, item, plan.ElementType!, depth + 1);
                }

                writer.WriteEndArray();
                break;
            case JsonTypeInfoKind.Dictionary:
                // Pairs in enumeration order: [[key, value], ...] (keys of any type, written like values).
                writer.WriteStartArray();
                if (value is IDictionary dictionary)
                {
                    var entries = dictionary.GetEnumerator();
                    while (entries.MoveNext())
                    {
                        WritePair(buffers, entries.Key, entries.Value, plan, depth + 1);
                    }
                }
                else
                {
                    foreach (var pair in (IEnumerable)value)
                    {
                        var (key, item) = plan.Pair!(pair);
                        WritePair(buffers, key, item, plan, depth + 1);
                    }
                }

                writer.WriteEndArray();
                break;
            default:
                // A type with its own converter (Uri, Version, JsonElement, [JsonConverter] types): its JSON.
                try
                {
                    JsonSerializer.Serialize(writer, value, type, Contracts);
                }
                catch (NotSupportedException error)
                {
                    throw new ArgumentException(
                        $"An argument contains a {TypeNames.Short(type)}, which cannot be written into a Redis key: System.Text.Json cannot write it ({error.Message}). " +
                        "Build the key yourself with .KeyBy(...), or leave the argument out with .IgnoreArgs(\"name\").",
                        error);
                }

                break;
        }
    }

    private static void WritePair(Buffers buffers, object? key, object? value, Plan plan, int depth)
    {
        buffers.Writer.WriteStartArray();
        Write(buffers, key, plan.KeyType!, depth);
        Write(buffers, value, plan.ElementType!, depth);
        buffers.Writer.WriteEndArray();
    }

    /// <summary>A built-in value, as its top-level key text: numbers raw, everything else as a string.</summary>
    private static void WriteKnown(Buffers buffers, object value)
    {
        // The common ones without an intermediate string; the text is the same as ArgText's.
        switch (value)
        {
            case int number:
                buffers.Writer.WriteNumberValue(number);
                return;
            case long number:
                buffers.Writer.WriteNumberValue(number);
                return;
            case bool flag:
                buffers.Writer.WriteBooleanValue(flag);
                return;
            case Guid id:
                buffers.Writer.WriteStringValue(id);
                return;
            case string plain when !ArgText.NeedsEscape(plain):
                buffers.Writer.WriteStringValue(plain);
                return;
        }

        var text = buffers.Text.Clear();
        ArgText.TryAppendKnown(text, value);
        if (value is Enum || Type.GetTypeCode(value.GetType()) is >= TypeCode.SByte and <= TypeCode.Decimal || value is Half or Int128 or UInt128)
        {
            // NaN and infinities are not JSON numbers; written raw they stay apart from the strings "NaN" and "Infinity".
            buffers.Writer.WriteRawValue(text.ToString(), skipInputValidation: true);
        }
        else
        {
            buffers.Writer.WriteStringValue(text.ToString());
        }
    }

    private static string TypeName(Type type) => TypeNameCache.GetOrAdd(type, static t => TypeNames.Full(t));

    private static readonly ConcurrentDictionary<Type, string> TypeNameCache = new();

    private static Plan PlanOf(Type type) => Plans.GetOrAdd(type, static t => Plan.For(t));

    /// <summary>One thread's reusable output (kept for the thread's life; <see cref="Dispose"/> is for completeness).</summary>
    private sealed class Buffers : IDisposable
    {
        public readonly ArrayBufferWriter<byte> Output = new(256);
        public readonly Utf8JsonWriter Writer;
        public readonly StringBuilder Text = new();

        public Buffers() => Writer = new Utf8JsonWriter(Output, new JsonWriterOptions { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

        public void Dispose() => Writer.Dispose();
    }

    private readonly record struct Member(string Name, Type Type, Func<object, object?> Get);

    /// <summary>How values of one runtime type are written, or why they cannot be.</summary>
    private sealed class Plan
    {
        private Plan(JsonTypeInfoKind kind, Member[] members, Type? elementType, Type? keyType, Func<object, (object?, object?)>? pair, string? refusal)
        {
            Kind = kind;
            Members = members;
            ElementType = elementType;
            KeyType = keyType;
            Pair = pair;
            Refusal = refusal;
        }

        public JsonTypeInfoKind Kind { get; }

        public Member[] Members { get; }

        public Type? ElementType { get; }

        public Type? KeyType { get; }

        /// <summary>For dictionaries that are not <see cref="IDictionary"/>: a <c>KeyValuePair</c>'s two halves.</summary>
        public Func<object, (object?, object?)>? Pair { get; }

        public string? Refusal { get; }

        public static Plan For(Type type)
        {
            if (!JsonSerializer.IsReflectionEnabledByDefault && !ArgText.IsKnown(type))
            {
                return Refused("reflection-based System.Text.Json is disabled in this application (trimmed or native AOT), so its content cannot be read faithfully (build the key with .KeyBy(...))");
            }

            if (!ArgText.IsSupported(type, out var unsupported) && type != typeof(object))
            {
                return Refused(unsupported);
            }

            JsonTypeInfo info;
            try
            {
                info = Contracts.GetTypeInfo(type);
            }
            catch (Exception error) when (error is NotSupportedException or InvalidOperationException or ArgumentException)
            {
                return Refused("System.Text.Json cannot describe it (" + error.Message + ")");
            }

            switch (info.Kind)
            {
                case JsonTypeInfoKind.Object:
                    var members = info.Properties
                        .Where(p => p.Get is not null)
                        .OrderBy(p => p.Order)
                        .Select(p => new Member(p.Name, p.PropertyType, p.Get!))
                        .ToArray();
                    return Uncovered(type, info) is { } field
                        ? Refused($"its field '{field}' holds state that no public property or field of that name shows, so values that differ in it would share a key (make it public, mark it [JsonInclude], or key by what matters)")
                        : new Plan(JsonTypeInfoKind.Object, members, null, null, null, null);
                case JsonTypeInfoKind.Enumerable when !typeof(IEnumerable).IsAssignableFrom(type):
                case JsonTypeInfoKind.Dictionary when !typeof(IEnumerable).IsAssignableFrom(type):
                    return Refused("System.Text.Json writes it as a collection, but it is not an IEnumerable (pass an array or a list)");
                case JsonTypeInfoKind.None when type.IsArray:
                    return Refused("System.Text.Json cannot write multidimensional arrays (pass a jagged array)");
                case JsonTypeInfoKind.Enumerable:
                    return TypeShape.OwnState(type) is { } state
                        ? Refused($"it is a collection with state of its own (field '{state}') that the JSON of its items would not show")
                        : new Plan(JsonTypeInfoKind.Enumerable, [], TypeShape.ItemTypes(type, dictionary: false).Value, null, null, null);
                case JsonTypeInfoKind.Dictionary:
                    if (TypeShape.OwnState(type) is { } own)
                    {
                        return Refused($"it is a dictionary with state of its own (field '{own}') that the JSON of its entries would not show");
                    }

                    var (key, value) = TypeShape.ItemTypes(type, dictionary: true);
                    return new Plan(JsonTypeInfoKind.Dictionary, [], value, key, PairReader(key, value), null);
                default:
                    return new Plan(info.Kind, [], null, null, null, null);
            }
        }

        private static Plan Refused(string reason) => new(JsonTypeInfoKind.None, [], null, null, null, reason);

        /// <summary>
        /// The first instance field (of the type or its bases) that is not a serialized member and not the state of
        /// one: a field named like a serialized member (<c>_amount</c> behind <c>Amount</c>, a property's backing
        /// field) counts as shown.
        /// </summary>
        private static string? Uncovered(Type type, JsonTypeInfo info)
        {
            var shown = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var property in info.Properties)
            {
                if (property.Get is not null && property.AttributeProvider is MemberInfo member)
                {
                    shown.Add(member.Name);
                }
            }

            for (var current = type; current is not null && current != typeof(object) && current != typeof(ValueType); current = current.BaseType)
            {
                foreach (var field in current.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (!shown.Contains(TypeShape.StateName(field.Name)))
                    {
                        return field.Name;
                    }
                }
            }

            return null;
        }

        private static Func<object, (object?, object?)> PairReader(Type keyType, Type valueType)
        {
            var pairType = typeof(KeyValuePair<,>).MakeGenericType(keyType, valueType);
            var key = pairType.GetProperty(nameof(KeyValuePair<int, int>.Key))!;
            var value = pairType.GetProperty(nameof(KeyValuePair<int, int>.Value))!;
            return pair => (key.GetValue(pair), value.GetValue(pair));
        }
    }
}
