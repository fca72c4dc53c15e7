namespace CachifyNet.Internal;

/// <summary>
/// A typed key: the key-relevant arguments of one call (generated per arity as a struct, so memory lookups
/// neither box nor build strings), with the wrapper's target for wrappers that have one (<see cref="TargetedKey{TKey}"/>).
/// </summary>
internal interface IArgsKey<TSelf> : IEquatable<TSelf>
    where TSelf : struct, IArgsKey<TSelf>
{
    /// <summary>What the wrapper's target adds to the key (an instance, or a closure's captured values); null when nothing.</summary>
    TargetKey? Target { get; }

    /// <summary>The first argument in <paramref name="mask"/> that is not null (arguments keyed by reference, for the never-hit warning).</summary>
    object? ReferenceArgument(int mask);

    /// <summary>Writes the argument part of the key as stable text (for shared backends such as Redis).</summary>
    void WriteText(KeyTextWriter writer);
}

/// <summary>
/// A text key: the string a <c>KeyBy</c> function returned, or the text of arguments keyed by content (a snapshot
/// taken at the call), with the target's key for the latter.
/// </summary>
internal readonly struct StringKey(TargetKey? target, string value) : IArgsKey<StringKey>
{
    public readonly TargetKey? S = target;
    public readonly string Value = value;

    public TargetKey? Target => S;

    public object? ReferenceArgument(int mask) => null;

    public bool Equals(StringKey other) => TargetKey.AreEqual(S, other.S) && string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is StringKey other && Equals(other);

    public override int GetHashCode() => Value.GetHashCode(StringComparison.Ordinal) ^ TargetKey.Hash(S);

    public void WriteText(KeyTextWriter writer)
    {
        S?.WriteText(writer);
        writer.WriteString(Value);
    }
}

/// <summary>
/// The key of a wrapper whose target is part of its keys: the target's key (an instance, or a closure's captured values)
/// and the arguments' key. Wrappers without a target use <typeparamref name="TKey"/> alone, so their keys hold no
/// reference and their hits compare and hash the arguments only. The text is the target's, then the arguments'.
/// </summary>
/// <typeparam name="TKey">The arguments' key.</typeparam>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
internal readonly struct TargetedKey<TKey>(TargetKey? target, TKey key) : IArgsKey<TargetedKey<TKey>>
    where TKey : struct, IArgsKey<TKey>
{
    public readonly TargetKey? S = target;
    public readonly TKey Key = key;

    public TargetKey? Target => S;

    public object? ReferenceArgument(int mask) => Key.ReferenceArgument(mask);

    public bool Equals(TargetedKey<TKey> other) => TargetKey.AreEqual(S, other.S) && Key.Equals(other.Key);

    public override bool Equals(object? obj) => obj is TargetedKey<TKey> other && Equals(other);

    public override int GetHashCode() => Key.GetHashCode() ^ TargetKey.Hash(S);

    public void WriteText(KeyTextWriter writer)
    {
        S?.WriteText(writer);
        Key.WriteText(writer);
    }
}

/// <summary>The target keys of wrappers.</summary>
internal static class TargetKeys
{
    /// <summary>The key of <paramref name="func"/>'s target: its captured values for a closure, else the instance.</summary>
    public static TargetKey? Of(Delegate func, FunctionDescriptor function)
    {
        var target = func.Target;
        for (var depth = 0; target is Delegate inner && depth < 16; depth++)
        {
            target = inner.Target;
        }

        if (target is null)
        {
            return null;
        }

        return function.Closure is { } closure ? closure.KeyOf(target) : InstanceKey.Of(target);
    }
}
