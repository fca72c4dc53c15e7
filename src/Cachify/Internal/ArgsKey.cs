namespace CachifyNet.Internal;

/// <summary>
/// A typed key: the key-relevant arguments of one call. Generated per arity as a struct, so memory lookups
/// neither box nor build strings. (The target is not in the key: in memory each target has its own keyspace.)
/// </summary>
internal interface IArgsKey<TSelf> : IEquatable<TSelf>
    where TSelf : struct, IArgsKey<TSelf>
{
    /// <summary>Writes the argument part of the key as stable text (for shared backends such as Redis).</summary>
    void WriteText(KeyTextWriter writer);
}

/// <summary>The key of a wrapper with <c>KeyBy</c>: the string its key function returned.</summary>
internal readonly struct StringKey(string value) : IArgsKey<StringKey>
{
    public readonly string Value = value;

    public bool Equals(StringKey other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is StringKey other && Equals(other);

    public override int GetHashCode() => Value.GetHashCode(StringComparison.Ordinal);

    public void WriteText(KeyTextWriter writer) => writer.WriteString(Value);
}
