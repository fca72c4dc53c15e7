using System.Buffers;
using System.Buffers.Binary;

namespace CachifyNet.Internal.Stores;

/// <summary>
/// The bytes of a cached value in a <see cref="CachifyNet.Stores.CacheStore"/>: a 30-byte header, then the serializer's payload.
/// <code>
/// offset size
///  0     1   format: 0xC5 (a Cachify store entry, version 1)
///  1     1   flags: 1 = the result is null (no payload), 2 = written by a never-die wrapper
///  2     8   written at: the writer's clock, ms since the Unix epoch (UTC), big-endian
/// 10     8   the writer's TTL in ms, big-endian; 0 = the entry does not expire
/// 18     4   result type tag (see TypeTag)
/// 22     8   the function's generation when the entry was written (see StoreKeyspace)
/// 30     n   the serializer's payload
/// </code>
/// </summary>
internal static class StoreEnvelope
{
    public const int HeaderSize = 30;
    public const byte Format = 0xC5;

    private const byte NullFlag = 1;
    private const byte NeverDieFlag = 2;

    public static ReadOnlyMemory<byte> Encode<T>(T value, long writtenAtMs, long ttlMs, bool neverDie, long generation, ICacheSerializer serializer)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var header = buffer.GetSpan(HeaderSize);
        header[0] = Format;
        header[1] = (byte)((value is null ? NullFlag : 0) | (neverDie ? NeverDieFlag : 0));
        BinaryPrimitives.WriteInt64BigEndian(header[2..], writtenAtMs);
        BinaryPrimitives.WriteInt64BigEndian(header[10..], ttlMs);
        BinaryPrimitives.WriteUInt32BigEndian(header[18..], TypeTag<T>.Value);
        BinaryPrimitives.WriteInt64BigEndian(header[22..], generation);
        buffer.Advance(HeaderSize);
        if (value is not null)
        {
            serializer.Serialize(value, buffer);
        }

        return buffer.WrittenMemory;
    }

    /// <summary>Reads the header; false when the bytes are not an entry of this format (corrupt or foreign).</summary>
    public static bool TryRead(byte[] raw, out StoreHeader header)
    {
        var span = raw.AsSpan();
        if (span.Length < HeaderSize || span[0] != Format)
        {
            header = default;
            return false;
        }

        var flags = span[1];
        header = new StoreHeader(
            (flags & NullFlag) != 0,
            (flags & NeverDieFlag) != 0,
            BinaryPrimitives.ReadInt64BigEndian(span[2..]),
            BinaryPrimitives.ReadInt64BigEndian(span[10..]),
            BinaryPrimitives.ReadUInt32BigEndian(span[18..]),
            BinaryPrimitives.ReadInt64BigEndian(span[22..]),
            raw.AsMemory(HeaderSize));
        return !header.IsNull || header.Payload.IsEmpty;
    }

    /// <summary>The TTL of a wrapper in whole milliseconds (at least 1); 0 when entries never expire.</summary>
    public static long TtlMs(TimeSpan ttl)
        => ttl == Timeout.InfiniteTimeSpan ? 0 : Math.Max(1, (long)Math.Ceiling(ttl.TotalMilliseconds));
}

/// <summary>The decoded header of a stored value.</summary>
internal readonly record struct StoreHeader(bool IsNull, bool NeverDie, long WrittenAtMs, long TtlMs, uint TypeTag, long Generation, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Age by the reader's clock; a clock behind the writer's counts as age 0.</summary>
    public long AgeMs(long nowMs) => Math.Max(0, nowMs - WrittenAtMs);
}
