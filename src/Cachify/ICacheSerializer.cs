using System.Buffers;

namespace CachifyNet;

/// <summary>
/// Turns cached results into bytes and back, for backends that store entries outside the process.
/// The default is <see cref="SystemTextJsonCacheSerializer"/>.
/// </summary>
/// <remarks>
/// <para>
/// <b>A serializer must round-trip.</b> <see cref="Deserialize{T}"/> of the bytes written by <see cref="Serialize{T}"/>
/// must give a value equal to the one written, with all of its state and its runtime type: a cached call must return
/// what the function returned. With <see cref="SystemTextJsonCacheSerializer"/> the backend checks each result type
/// when a wrapper is bound and refuses one that would lose state; with any other serializer that check is skipped and
/// the obligation is the serializer's. A serializer that cannot write a value faithfully must throw from
/// <see cref="Serialize{T}"/> (in the backend's Silent error mode the result is then returned uncached and the
/// error logged), never write less.
/// </para>
/// <para>
/// Null results never reach the serializer: the backend records them itself, so a cached null is told apart from
/// a missing entry. A serializer must not write type names into the payload, or load types named by a payload: the
/// result type is known from the cached function, and a payload must never make the process load a type. When
/// <see cref="Deserialize{T}"/> throws, the entry counts as missing and is overwritten.
/// </para>
/// </remarks>
public interface ICacheSerializer
{
    /// <summary>Writes <paramref name="value"/> to <paramref name="destination"/>, all of its state.</summary>
    /// <typeparam name="T">The result type of the cached function.</typeparam>
    /// <param name="value">The result; never null.</param>
    /// <param name="destination">Where the bytes go.</param>
    /// <exception cref="Exception">Any exception: the value cannot be written faithfully.</exception>
    void Serialize<T>(T value, IBufferWriter<byte> destination);

    /// <summary>Reads a value written by <see cref="Serialize{T}"/>: equal to the value written, runtime type included.</summary>
    /// <typeparam name="T">The result type of the cached function.</typeparam>
    /// <param name="source">The bytes.</param>
    /// <returns>The value.</returns>
    /// <exception cref="Exception">Any exception: the payload cannot be read (corrupt, or written for another type).</exception>
    T Deserialize<T>(ReadOnlySpan<byte> source);
}
