using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace CachifyNet.Internal;

/// <summary>
/// Whether results of one type come back from a shared store (Redis, a CacheStore) as they were written, with the default serializer's contracts
/// (<see cref="SystemTextJsonCacheSerializer.Options"/>). Checked when a wrapper is bound, from both sides:
/// <list type="bullet">
/// <item>Refused: a member that is written but cannot be read back (no setter, no init accessor, no constructor
/// parameter), an instance field that no serialized member shows (hidden state), a position System.Text.Json cannot
/// read back (<see cref="object"/>, an interface or abstract class that admits no derived types, a collection it cannot
/// create, a dictionary key it cannot write as a property name, a <c>Stack</c> that would come back reversed).</item>
/// <item>Checked per stored value, where the declared types allow a runtime type they would not read back (a
/// <c>Circle</c> in a non-sealed <c>Shape</c> position, an array in an <c>IEnumerable&lt;T&gt;</c> position): such a
/// value is not stored (see <see cref="IsFaithful"/>). Runtime types are kept only through the derived types a
/// declared type admits with <see cref="JsonDerivedTypeAttribute"/>, whose discriminators map to known types, so a
/// payload never makes the process load a type.</item>
/// </list>
/// </summary>
[UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Result types are analysed through the serializer's JSON contracts; under trimming, give the serializer a source-generated context, whose types are kept.")]
[UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "As above.")]
internal sealed class ResultContract
{
    /// <summary>Deeper than this is left to System.Text.Json, which refuses to write it (its default depth limit).</summary>
    private const int MaxDepth = 64;


    private static readonly ConditionalWeakTable<JsonSerializerOptions, ConcurrentDictionary<Type, ResultContract>> Cache = new();

    private readonly Node _root;

    private ResultContract(Node root, string? refusal)
    {
        _root = root;
        Refusal = refusal;
    }

    /// <summary>Why the type cannot be cached (what would be lost, and the fix); null when it round-trips.</summary>
    public string? Refusal { get; }

    /// <summary>Whether a stored value must be checked: some position allows a runtime type that would not come back.</summary>
    public bool NeedsCheck => Refusal is null && _root.Open;

    /// <summary>The contract of <paramref name="type"/> under <paramref name="options"/> (analysed once per pair).</summary>
    public static ResultContract For(Type type, JsonSerializerOptions options)
        => Cache.GetValue(options, static _ => new ConcurrentDictionary<Type, ResultContract>())
            .GetOrAdd(type, static (t, o) => Analysis.Run(t, o), options);

    /// <summary>
    /// For a wrapper bound to Redis: throws when its results would lose state with the backend's serializer; returns
    /// the contract to check each stored value against, or null when no check is needed (or the serializer is a
    /// custom one, whose round-trip is its own obligation).
    /// </summary>
    /// <exception cref="ArgumentException">The result type cannot be cached faithfully (the message names the member and the fix).</exception>
    public static ResultContract? Validate<TValue>(ICacheSerializer serializer, string displayName, string paramName, string storeName = "Redis", string serializerOption = "RedisCacheOptions.Serializer")
    {
        if (serializer is not SystemTextJsonCacheSerializer json)
        {
            return null;
        }

        var contract = For(typeof(TValue), json.Options);
        if (contract.Refusal is { } refusal)
        {
            throw new ArgumentException($"{displayName} returns {TypeNames.Short(typeof(TValue))}, which cannot be cached on {storeName} without losing state: {refusal} Or set {serializerOption} to an ICacheSerializer that round-trips the type, or keep this function on the memory backend.", paramName);
        }

        return contract.NeedsCheck ? contract : null;
    }

    /// <summary>
    /// Whether <paramref name="value"/> would come back as it is: every runtime type in it is the one its declared type
    /// reads back, or a derived type that declared type admits. Otherwise <paramref name="problem"/> says where it differs.
    /// </summary>
    public bool IsFaithful(object? value, [NotNullWhen(false)] out string? problem)
    {
        if (Check(value, _root, 0, out var where, out problem))
        {
            return true;
        }

        problem = "the result" + where + " " + problem;
        return false;
    }

    private static bool Check(object? value, Node declared, int depth, out string where, [NotNullWhen(false)] out string? problem)
    {
        where = string.Empty;
        problem = null;
        if (value is null || depth > MaxDepth)
        {
            return true;
        }

        var node = declared;
        if (declared.Admitted is { } admitted)
        {
            var runtime = value.GetType();
            if (!admitted.TryGetValue(runtime, out node))
            {
                problem = $"holds a {TypeNames.Short(runtime)}, which its declared type {TypeNames.Short(declared.Type)} does not admit with [JsonDerivedType]";
                return false;
            }
        }
        else if (declared.Materialized is { } materialized)
        {
            var runtime = value.GetType();
            if (runtime != materialized)
            {
                problem = $"holds a {TypeNames.Short(runtime)}, which would come back as a {TypeNames.Short(materialized)} (declared {TypeNames.Short(declared.Type)})";
                return false;
            }
        }
        else
        {
            return true;
        }

        if (!node.Walk)
        {
            return true;
        }

        switch (node.Kind)
        {
            case JsonTypeInfoKind.Object:
                foreach (var member in node.Members)
                {
                    if (member.Node.Open && !Check(member.Get(value), member.Node, depth + 1, out where, out problem))
                    {
                        where = "." + member.Name + where;
                        return false;
                    }
                }

                return true;
            case JsonTypeInfoKind.Enumerable:
                if (value is not IEnumerable items)
                {
                    // Memory<T> and the like: their items cannot be enumerated here, so they are not vouched for.
                    problem = $"holds a {TypeNames.Short(value.GetType())} whose items cannot be checked (return an array)";
                    return false;
                }

                var index = 0;
                foreach (var item in items)
                {
                    if (!Check(item, node.Element!, depth + 1, out where, out problem))
                    {
                        where = "[" + index.ToString(CultureInfo.InvariantCulture) + "]" + where;
                        return false;
                    }

                    index++;
                }

                return true;
            case JsonTypeInfoKind.Dictionary:
                foreach (var item in DictionaryValues(value))
                {
                    if (!Check(item, node.Element!, depth + 1, out where, out problem))
                    {
                        where = "[…]" + where;
                        return false;
                    }
                }

                return true;
            default:
                return true;
        }
    }

    private static IEnumerable DictionaryValues(object dictionary)
    {
        if (dictionary is IDictionary plain)
        {
            return plain.Values;
        }

        return ((IEnumerable)dictionary).Cast<object?>().Select(static pair => pair?.GetType().GetProperty(nameof(KeyValuePair<int, int>.Value))?.GetValue(pair));
    }

    /// <summary>A declared type: how its values are read back, and what below it may need a check.</summary>
    private sealed class Node(Type type)
    {
        public Type Type { get; } = type;

        public JsonTypeInfoKind Kind { get; set; }

        /// <summary>The runtime type a payload comes back as; null for types read by a converter (trusted as they are).</summary>
        public Type? Materialized { get; set; }

        /// <summary>For a polymorphic declared type: the runtime types it reads back (itself when concrete, its derived types).</summary>
        public Dictionary<Type, Node>? Admitted { get; set; }

        public Slot[] Members { get; set; } = [];

        /// <summary>The item type of a collection, the value type of a dictionary.</summary>
        public Node? Element { get; set; }

        /// <summary>Some member or item below needs a check.</summary>
        public bool Walk { get; set; }

        /// <summary>A value in a position of this type may have a runtime type that does not come back.</summary>
        public bool TypeCheck => Admitted is not null || (Materialized is not null && (Materialized != Type || !(Type.IsValueType || Type.IsSealed)));

        public bool Open => TypeCheck || Walk;
    }

    private readonly record struct Slot(string Name, Node Node, Func<object, object?> Get);

    private sealed class Refused(string message) : Exception(message);

    /// <summary>One analysis of a result type: the graph of its declared types, or the first thing that would be lost.</summary>
    private sealed class Analysis(JsonSerializerOptions options)
    {
        private const string PolymorphicFix = "Declare a concrete type, or a base type whose [JsonPolymorphic]/[JsonDerivedType(typeof(...), \"name\")] attributes list the types it may hold.";
        private const string MemberFix = "Give it a setter (a private one is enough), an init accessor or a constructor parameter of that name; mark it [JsonIgnore] if it is computed from other members.";

        private readonly Dictionary<Type, Node> _nodes = [];
        private string _rootPath = string.Empty;

        public static ResultContract Run(Type type, JsonSerializerOptions options)
        {
            var analysis = new Analysis(options);
            try
            {
                analysis._rootPath = TypeNames.Short(type);
                var root = analysis.NodeFor(type, analysis._rootPath);
                analysis.ComputeWalk();
                return new ResultContract(root, null);
            }
            catch (Refused refused)
            {
                return new ResultContract(new Node(type), refused.Message);
            }
        }

        private static Refused Refuse(string what, string fix) => new(what + ". " + fix);

        /// <summary>How a position is named in a refusal: the result type itself, or the member path from it.</summary>
        private string Label(string path) => path == _rootPath ? "the result type" : $"'{path}'";

        private Node NodeFor(Type declared, string path)
        {
            var type = Nullable.GetUnderlyingType(declared) ?? declared;
            if (_nodes.TryGetValue(type, out var known))
            {
                return known;
            }

            var node = new Node(type);
            _nodes[type] = node;
            if (type == typeof(object))
            {
                throw Refuse($"{Label(path)} is declared as object, which System.Text.Json reads back as a JsonElement", PolymorphicFix);
            }

            JsonTypeInfo info;
            try
            {
                info = options.GetTypeInfo(type);
            }
            catch (Exception error) when (error is NotSupportedException or InvalidOperationException or ArgumentException)
            {
                throw Refuse($"{Label(path)} ({TypeNames.Short(type)}) cannot be serialized by System.Text.Json ({error.Message})", "Use a type it supports, or give the type a [JsonConverter].");
            }

            node.Kind = info.Kind;
            var abstractType = type.IsInterface || type.IsAbstract;
            if (info.PolymorphismOptions is { DerivedTypes.Count: > 0 } polymorphism)
            {
                node.Admitted = [];
                if (!abstractType)
                {
                    node.Admitted[type] = node;
                }

                foreach (var derived in polymorphism.DerivedTypes)
                {
                    if (derived.TypeDiscriminator is null)
                    {
                        throw Refuse($"{Label(path)} ({TypeNames.Short(type)}) admits {TypeNames.Short(derived.DerivedType)} without a type discriminator, so it would come back as a {TypeNames.Short(type)}", $"Give it one: [JsonDerivedType(typeof({TypeNames.Short(derived.DerivedType)}), \"name\")].");
                    }

                    node.Admitted[derived.DerivedType] = NodeFor(derived.DerivedType, path + "<" + TypeNames.Short(derived.DerivedType) + ">");
                }
            }

            switch (info.Kind)
            {
                case JsonTypeInfoKind.Object:
                    if (abstractType && node.Admitted is null)
                    {
                        throw Refuse($"{Label(path)} is declared as {TypeNames.Short(type)}, an {(type.IsInterface ? "interface" : "abstract class")} that System.Text.Json cannot create", PolymorphicFix);
                    }

                    if (!abstractType)
                    {
                        CheckObject(type, info, path, Label(path));
                        node.Materialized = type;
                    }

                    var members = new List<Slot>();
                    foreach (var property in info.Properties)
                    {
                        if (property.Get is { } get)
                        {
                            var name = MemberName(property);
                            members.Add(new Slot(name, NodeFor(property.PropertyType, path + "." + name), get));
                        }
                    }

                    node.Members = [.. members];
                    break;
                case JsonTypeInfoKind.Enumerable:
                case JsonTypeInfoKind.Dictionary:
                    var dictionary = info.Kind == JsonTypeInfoKind.Dictionary;
                    node.Materialized = CheckCollection(type, info, dictionary, Label(path));
                    var (key, element) = TypeShape.ItemTypes(type, dictionary);
                    if (dictionary && !IsWritableKey(key))
                    {
                        throw Refuse($"{Label(path)} ({TypeNames.Short(type)}) has keys of type {TypeNames.Short(key)}, which System.Text.Json cannot write as JSON property names", "Key it by a string, a number, an enum, a Guid or a date, or return a list of pairs.");
                    }

                    node.Element = NodeFor(element, path + "[]");
                    break;
                default:
                    // Read by a converter (built-in values, strings, dates, JsonElement, [JsonConverter] types): trusted.
                    break;
            }

            return node;
        }

        /// <summary>A concrete object type: System.Text.Json can create it, and every field of it is read back.</summary>
        private static void CheckObject(Type type, JsonTypeInfo info, string path, string label)
        {
            if (!TryFindConstructor(type, info, out var constructor) && info.CreateObject is null)
            {
                throw Refuse($"{label} ({TypeNames.Short(type)}) has no constructor System.Text.Json can use", "Add a public parameterless constructor, or mark the constructor to use [JsonConstructor].");
            }

            var parameters = new HashSet<string>(
                constructor?.GetParameters().Select(static p => p.Name ?? string.Empty) ?? [],
                StringComparer.OrdinalIgnoreCase);
            var shown = new Dictionary<string, JsonPropertyInfo>(StringComparer.OrdinalIgnoreCase);
            foreach (var property in info.Properties)
            {
                if (property.Get is not null)
                {
                    shown.TryAdd(MemberName(property), property);
                }
            }

            var ignored = IgnoredMembers(type);
            for (var current = type; current is not null && current != typeof(object) && current != typeof(ValueType); current = current.BaseType)
            {
                foreach (var field in current.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    var state = TypeShape.StateName(field.Name);
                    // Event handlers (delegate fields) are subscriptions, not data: no copy of a value carries them.
                    if (ignored.Contains(state) || field.IsDefined(typeof(JsonIgnoreAttribute), inherit: false) || typeof(Delegate).IsAssignableFrom(field.FieldType))
                    {
                        continue;
                    }

                    if (!shown.TryGetValue(state, out var member))
                    {
                        throw Refuse(
                            $"{(field.Name.StartsWith('<') ? "the non-public property '" + state : "the field '" + field.Name)}' of {TypeNames.Short(current)} (in {label}) holds state that no public property or field shows, so it would be lost",
                            "Make it public, or mark it (or a property that shows it) [JsonInclude]; mark it [JsonIgnore] if losing it is intended.");
                    }

                    var name = MemberName(member);
                    if (member.Set is null && !parameters.Contains(name))
                    {
                        throw Refuse(
                            $"the member '{path}.{name}' is written but cannot be read back: it has no setter, no init accessor and no constructor parameter of that name",
                            MemberFix);
                    }
                }
            }
        }

        /// <summary>
        /// The constructor System.Text.Json calls (null: the parameterless one, or a struct's default): the one marked
        /// [JsonConstructor], else a class's public parameterless one, else its only public one. False when there is none.
        /// </summary>
        private static bool TryFindConstructor(Type type, JsonTypeInfo info, out ConstructorInfo? constructor)
        {
            constructor = null;

            // The constructor System.Text.Json itself chose.
            if (info.ConstructorAttributeProvider is ConstructorInfo chosen)
            {
                constructor = chosen.GetParameters().Length > 0 ? chosen : null;
                return true;
            }

            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(KeyValuePair<,>))
            {
                // Read back through its (key, value) constructor by a built-in converter.
                constructor = type.GetConstructors()[0];
                return true;
            }

            var all = type.GetConstructors(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
            var marked = all.Where(static c => c.IsDefined(typeof(JsonConstructorAttribute), inherit: false)).ToArray();
            if (marked.Length == 1)
            {
                constructor = marked[0];
                return true;
            }

            if (type.IsValueType)
            {
                return true;
            }

            var open = type.GetConstructors(BindingFlags.Instance | BindingFlags.Public);
            if (open.Any(static c => c.GetParameters().Length == 0))
            {
                return true;
            }

            if (open.Length == 1)
            {
                constructor = open[0];
                return true;
            }

            return false;
        }

        /// <summary>Names of the members (of the type and its bases) marked [JsonIgnore] for good: left out on purpose.</summary>
        private static HashSet<string> IgnoredMembers(Type type)
        {
            var ignored = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var current = type; current is not null && current != typeof(object); current = current.BaseType)
            {
                foreach (var member in current.GetMembers(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (member.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: JsonIgnoreCondition.Always })
                    {
                        ignored.Add(member.Name);
                    }
                }
            }

            return ignored;
        }

        /// <summary>
        /// A collection: System.Text.Json can create it, it holds no state beyond its items, and it keeps their order.
        /// Returns the type an empty payload comes back as (what any value in this position comes back as).
        /// </summary>
        private static Type CheckCollection(Type type, JsonTypeInfo info, bool dictionary, string label)
        {
            for (var current = type; current is not null; current = current.BaseType)
            {
                if (current.IsGenericType && current.GetGenericTypeDefinition() is var definition && (definition == typeof(Stack<>) || definition == typeof(ConcurrentStack<>)))
                {
                    throw Refuse($"{label} is a {TypeNames.Short(type)}, which System.Text.Json reads back in reverse order", "Return an array or a list.");
                }
            }

            if (TypeShape.OwnState(type) is { } field)
            {
                throw Refuse($"{label} is a {TypeNames.Short(type)}, a collection with state of its own ('{TypeShape.StateName(field)}') that the JSON of its items would not show", "Return the items and that state in a record, or write a [JsonConverter] for the type.");
            }

            object? empty;
            try
            {
                empty = JsonSerializer.Deserialize(dictionary ? "{}" : "[]", info);
            }
            catch (Exception error) when (error is NotSupportedException or InvalidOperationException or JsonException)
            {
                throw Refuse($"{label} ({TypeNames.Short(type)}) cannot be read back by System.Text.Json ({error.Message})", "Return an array, a list, a dictionary or an immutable collection.");
            }

            return empty?.GetType() ?? type;
        }

        private static bool IsWritableKey(Type key)
        {
            if (key.IsEnum || Type.GetTypeCode(key) is >= TypeCode.Boolean and <= TypeCode.DateTime or TypeCode.String)
            {
                return true;
            }

            return key == typeof(Guid) || key == typeof(DateTimeOffset) || key == typeof(TimeSpan) || key == typeof(DateOnly) || key == typeof(TimeOnly)
                || key == typeof(Uri) || key == typeof(Version) || key == typeof(Half) || key == typeof(Int128) || key == typeof(UInt128);
        }

        private static string MemberName(JsonPropertyInfo property) => property.AttributeProvider is MemberInfo member ? member.Name : property.Name;

        /// <summary>Least fixed point of "some member or item below is open", over the whole graph (cycles included).</summary>
        private void ComputeWalk()
        {
            bool changed;
            do
            {
                changed = false;
                foreach (var node in _nodes.Values)
                {
                    if (node.Walk)
                    {
                        continue;
                    }

                    var walk = node.Element?.Open == true || node.Members.Any(static m => m.Node.Open);
                    if (walk)
                    {
                        node.Walk = true;
                        changed = true;
                    }
                }
            }
            while (changed);
        }
    }
}
