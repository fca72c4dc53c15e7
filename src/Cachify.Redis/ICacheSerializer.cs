using System.Buffers;

namespace CachifyNet.Redis;

/// <summary>
/// Turns cached results into bytes and back, for backends that store entries outside the process.
/// The default is <see cref="SystemTextJsonCacheSerializer"/>.
/// </summary>
/// <remarks>
/// Null results never reach the serializer: the backend records them itself, so a cached null is told apart from
/// a missing entry. A serializer must not write type names into the payload: the result type is known from the
/// cached function. When <see cref="Deserialize{T}"/> throws, the entry counts as missing and is overwritten.
/// </remarks>
public interface ICacheSerializer
{
    /// <summary>Writes <paramref name="value"/> to <paramref name="destination"/>.</summary>
    /// <typeparam name="T">The result type of the cached function.</typeparam>
    /// <param name="value">The result; never null.</param>
    /// <param name="destination">Where the bytes go.</param>
    void Serialize<T>(T value, IBufferWriter<byte> destination);

    /// <summary>Reads a value written by <see cref="Serialize{T}"/>.</summary>
    /// <typeparam name="T">The result type of the cached function.</typeparam>
    /// <param name="source">The bytes.</param>
    /// <returns>The value.</returns>
    /// <exception cref="Exception">Any exception: the payload cannot be read (corrupt, or written for another type).</exception>
    T Deserialize<T>(ReadOnlySpan<byte> source);
}
