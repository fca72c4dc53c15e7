using System.Runtime.CompilerServices;

namespace CachifyNet.Internal;

/// <summary>
/// A typed key: the key-relevant arguments of one call plus an extra part (the target, or the string of
/// <c>KeyBy</c>). Generated per arity as a struct, so memory lookups neither box nor build strings.
/// </summary>
internal interface IArgsKey<TSelf> : IEquatable<TSelf>
    where TSelf : struct, IArgsKey<TSelf>
{
    /// <summary>The target or the <c>KeyBy</c> string; null when neither is part of the key.</summary>
    object? Extra { get; }

    /// <summary>Writes the argument part of the key as stable text (for shared backends such as Redis).</summary>
    void WriteText(KeyTextWriter writer);
}

/// <summary>Equality of the extra part: strings (from <c>KeyBy</c>) by value, targets by reference.</summary>
internal static class KeyExtra
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(object? a, object? b)
        => ReferenceEquals(a, b) || (a is string x && b is string y && string.Equals(x, y, StringComparison.Ordinal));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Hash(int hash, object? extra)
        => extra is null ? hash : HashCode.Combine(hash, extra is string s ? s.GetHashCode(StringComparison.Ordinal) : RuntimeHelpers.GetHashCode(extra));
}
