using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace CachifyNet.Internal;

/// <summary>
/// What a wrapper's target (the <c>this</c> of an instance method, or a lambda's closure) adds to its keys, so
/// that one keyspace serves every target: an instance is keyed by reference (<see cref="InstanceKey"/>), a
/// closure by what it captured (<see cref="CapturedKey"/>). Keys never hold the target itself, so cached entries
/// never keep a service, its dependencies or a closure alive.
/// </summary>
internal abstract class TargetKey
{
    /// <summary>False once the instance this key stands for was collected: its entries can never be read again.</summary>
    public abstract bool IsAlive { get; }

    /// <summary>Writes the key's text, for keys built as text (shared backends, or memory keys of collections).</summary>
    public abstract void WriteText(KeyTextWriter writer);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AreEqual(TargetKey? a, TargetKey? b) => ReferenceEquals(a, b) || (a is not null && a.Equals(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Hash(TargetKey? key) => key is null ? 0 : key.GetHashCode();

    /// <summary>Whether a key that includes <paramref name="key"/> can still be read.</summary>
    public static bool IsOrphan(TargetKey? key) => key is not null && !key.IsAlive;
}

/// <summary>
/// An object instance as part of a key: equal only to itself, with a process-unique number that is never reused,
/// and only a weak reference to the object. One per object, found through a <see cref="ConditionalWeakTable{TKey, TValue}"/>.
/// </summary>
internal sealed class InstanceKey : TargetKey
{
    private static readonly ConditionalWeakTable<object, InstanceKey> Keys = new();
    private static long s_next;

    private readonly WeakReference _target;

    private InstanceKey(object target)
    {
        _target = new WeakReference(target);
        Id = Interlocked.Increment(ref s_next);
        Type = target.GetType();
    }

    /// <summary>A number no other instance of this process ever gets.</summary>
    public long Id { get; }

    /// <summary>The instance's type.</summary>
    public Type Type { get; }

    /// <summary>The instance's type, for messages.</summary>
    public string TypeName => TypeNames.Short(Type);

    /// <summary>Set at the first miss that brings this instance to a keyspace (see <c>Keyspace.TrackTarget</c>).</summary>
    public int Seen;

    public override bool IsAlive => _target.IsAlive;

    public static InstanceKey Of(object target) => Keys.GetValue(target, static t => new InstanceKey(t));

    /// <summary>Instances have no text that means the same in another process; shared backends refuse them at bind.</summary>
    public override void WriteText(KeyTextWriter writer) => writer.WriteInstance(Id);

    public override bool Equals(object? obj) => ReferenceEquals(this, obj);

    public override int GetHashCode() => RuntimeHelpers.GetHashCode(this);
}

/// <summary>
/// A closure as part of a key: the instance it captured (by reference), and the values it captured, compared as
/// arguments are (by <c>Equals</c> for types with value equality, else by a snapshot of their content).
/// </summary>
internal sealed class CapturedKey : TargetKey
{
    private readonly ClosurePlan _plan;

    // The captured values, one per plan value: the value itself when the closure captured exactly one (no array to
    // allocate: a closure wrapped inline makes a key at every call), else an object?[].
    private readonly object? _values;
    private readonly int _hash;

    /// <summary>A key of a closure that captured exactly one value.</summary>
    public CapturedKey(ClosurePlan plan, InstanceKey? self, object? value)
    {
        _plan = plan;
        Self = self;
        _values = value;
        _hash = HashCode.Combine(RuntimeHelpers.GetHashCode(plan), self, value);
    }

    /// <summary>A key of a closure that captured none, or more than one value.</summary>
    public CapturedKey(ClosurePlan plan, InstanceKey? self, object?[] values)
    {
        _plan = plan;
        Self = self;
        _values = values;
        var hash = new HashCode();
        hash.Add(RuntimeHelpers.GetHashCode(plan));
        hash.Add(self);
        foreach (var value in values)
        {
            hash.Add(value);
        }

        _hash = hash.ToHashCode();
    }

    /// <summary>The captured <c>this</c>, else the first object captured by reference; null when every captured value is data.</summary>
    public InstanceKey? Self { get; }

    public override bool IsAlive => Self is null || Self.IsAlive;

    private int Count => _plan.Values.Length;

    private object? Value(int i) => Count == 1 ? _values : ((object?[])_values!)[i];

    public override void WriteText(KeyTextWriter writer)
    {
        Self?.WriteText(writer);
        for (var i = 0; i < Count; i++)
        {
            writer.WriteCaptured(Value(i), _plan.Values[i]);
        }
    }

    public override bool Equals(object? obj)
    {
        if (obj is not CapturedKey other || other._hash != _hash || !ReferenceEquals(other._plan, _plan) || !ReferenceEquals(other.Self, Self))
        {
            return false;
        }

        for (var i = 0; i < Count; i++)
        {
            if (!Equals(Value(i), other.Value(i)))
            {
                return false;
            }
        }

        return true;
    }

    public override int GetHashCode() => _hash;
}

/// <summary>One captured variable of a closure: where it is read from, and how it is keyed.</summary>
internal sealed class CapturedValue(string name, Type type, FieldInfo[] path, KeyKind kind)
{
    /// <summary>The variable's name, for messages.</summary>
    public string Name { get; } = name;

    public Type Type { get; } = type;

    /// <summary>How the value is keyed: kept as is (<c>Equals</c>), as a snapshot of its content (its key text), or by reference (an <see cref="InstanceKey"/>).</summary>
    public KeyKind Kind { get; } = kind;

    public object? Read(object closure)
    {
        object? current = closure;
        foreach (var field in path)
        {
            if (current is null)
            {
                return null;
            }

            current = field.GetValue(current);
        }

        return current;
    }
}

/// <summary>
/// How a closure class is keyed, worked out once per class: its captured <c>this</c> (a field the compiler names
/// <c>&lt;&gt;4__this</c>), and its captured values, with the closures of enclosing scopes flattened in.
/// </summary>
internal sealed class ClosurePlan
{
    private readonly FieldInfo[][] _selfPaths;

    private ClosurePlan(FieldInfo[][] selfPaths, CapturedValue[] values)
    {
        _selfPaths = selfPaths;
        Values = values;
    }

    /// <summary>Whether the closure captured an instance (its <c>this</c>, or an object keyed by reference), which has no meaning in another process.</summary>
    public bool CapturesInstance => _selfPaths.Length > 0 || Values.Any(v => v.Kind == KeyKind.Reference);

    public CapturedValue[] Values { get; }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "A closure's fields are read by its lambda, so trimming keeps them; a field trimmed away is read by nothing and cannot change the function's result.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "As above, for the closures of enclosing scopes.")]
    public static ClosurePlan For(MethodInfo lambda)
    {
        // Interned by closure class and fields read: lambdas of one scope that read the same variables (a sync and an async
        // wrapper of one named function) get the same plan, and their keys compare equal.
        var used = ClosureFields.Used(lambda);
        var reads = used is null ? "*" : string.Join("\n", used.Select(u => u.Type.FullName + "." + u.Name).Order(StringComparer.Ordinal));
        return Plans.GetOrAdd((lambda.DeclaringType!, reads), static (id, used) => Make(id.Type, used), used);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(Type Type, string Reads), ClosurePlan> Plans = new();

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "A closure's fields are read by its lambda, so trimming keeps them; a field trimmed away is read by nothing and cannot change the function's result.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "As above, for the closures of enclosing scopes.")]
    private static ClosurePlan Make(Type closureType, HashSet<(Type Type, string Name)>? used)
    {
        var selves = new List<FieldInfo[]>();
        var values = new List<CapturedValue>();
        Collect(closureType, [], selves, values, used, depth: 0);
        return new ClosurePlan([.. selves], [.. values]);

        static void Collect(Type type, FieldInfo[] path, List<FieldInfo[]> selves, List<CapturedValue> values, HashSet<(Type Type, string Name)>? used, int depth)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            {
                if (used is not null && !used.Contains((ClosureFields.Definition(type), field.Name)))
                {
                    // A variable of the same scope that only other lambdas use (see ClosureFields).
                    continue;
                }

                if (field.Name.StartsWith("<>9__", StringComparison.Ordinal))
                {
                    // A delegate the compiler caches in the closure (a lambda made inside it): set when first made, not a variable.
                    continue;
                }

                FieldInfo[] here = [.. path, field];
                if (field.Name.EndsWith("__this", StringComparison.Ordinal))
                {
                    selves.Add(here);
                }
                else if (IsClosureClass(field.FieldType) && depth < 8)
                {
                    Collect(field.FieldType, here, selves, values, used, depth + 1);
                }
                else
                {
                    values.Add(new CapturedValue(field.Name, field.FieldType, here, KeyRules.KindOf(field.FieldType)));
                }
            }
        }
    }

    /// <summary>A content snapshot as kept in a key: long ones by their SHA-256, so a captured buffer is not copied into every key.</summary>
    private static string Snapshot(string text)
        => text.Length <= KeyTextWriter.MaxReadableLength
            ? text
            : "#" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>A class the compiler made to hold captured variables.</summary>
    public static bool IsClosureClass(Type type)
        => type.IsClass && type.IsDefined(typeof(CompilerGeneratedAttribute), false) && type.Name.Contains("DisplayClass", StringComparison.Ordinal);

    /// <summary>The <c>this</c> the closure captured (the first of its paths that is set); null when none.</summary>
    public object? SelfOf(object closure)
    {
        foreach (var path in _selfPaths)
        {
            object? current = closure;
            foreach (var field in path)
            {
                current = current is null ? null : field.GetValue(current);
            }

            if (current is not null)
            {
                return current;
            }
        }

        return null;
    }

    /// <summary>The key of one closure instance.</summary>
    public CapturedKey KeyOf(object closure)
    {
        InstanceKey? self = null;
        foreach (var path in _selfPaths)
        {
            object? current = closure;
            foreach (var field in path)
            {
                current = current is null ? null : field.GetValue(current);
            }

            if (current is not null)
            {
                self = InstanceKey.Of(current);
                break;
            }
        }

        var captured = Values;
        if (captured.Length == 1)
        {
            var one = KeyValue(captured[0], closure, ref self);
            return new CapturedKey(this, self, one);
        }

        var values = captured.Length == 0 ? [] : new object?[captured.Length];
        for (var i = 0; i < captured.Length; i++)
        {
            values[i] = KeyValue(captured[i], closure, ref self);
        }

        return new CapturedKey(this, self, values);
    }

    /// <summary>
    /// What one captured variable adds to the key: its value, a snapshot of its content, or the key of the instance it
    /// refers to (then also <paramref name="self"/>, when no instance was found before).
    /// </summary>
    private static object? KeyValue(CapturedValue captured, object closure, ref InstanceKey? self)
    {
        var value = captured.Read(closure);
        if (value is not null && captured.Kind == KeyKind.Reference)
        {
            var instance = InstanceKey.Of(value);
            self ??= instance;
            return instance;
        }

        return value is not null && captured.Kind == KeyKind.Content ? Snapshot(KeyJson.Text(value, captured.Type)) : value;
    }
}
