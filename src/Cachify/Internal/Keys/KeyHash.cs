using System.Runtime.CompilerServices;

namespace CachifyNet.Internal;

/// <summary>The hash of one key argument, as <see cref="HashCode.Combine{T1}(T1)"/> takes it; 0 for null and for tokens.</summary>
internal static class KeyHash
{
    /// <summary>
    /// A <see cref="CancellationToken"/> slot of a key always holds default (tokens are never keyed), so it is not hashed
    /// (hashing a token reads its source's object hash code on every call).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Of<T>(T value)
        => typeof(T) == typeof(CancellationToken) || value is null ? 0 : EqualityComparer<T>.Default.GetHashCode(value);
}
