using System.Buffers;
using System.Buffers.Binary;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// The bytes of a cached value in Redis: a 22-byte header, then the serializer's payload.
/// <code>
/// offset size
///  0     8   written at: Redis server time in ms since the Unix epoch, big-endian (set by the write script)
///  8     1   format version (2; 1 was written before results kept fields, private setters and NaN, and reads as a miss)
///  9     1   flags: 1 = the result is null (no payload), 2 = written by a never-die wrapper
/// 10     8   the writer's TTL in ms, big-endian; 0 = the entry does not expire
/// 18     4   result type tag: first 4 bytes of SHA-256 of the result type's full name (no name is stored)
/// 22     n   the serializer's payload
/// </code>
/// The writer's TTL and never-die flag let a reader apply the rule that it never returns an entry older than its
/// own TTL; the age is measured with Redis' clock only (written-at against Redis TIME), never a client's clock.
/// </summary>
internal static class Envelope
{
    public const int TimeSize = 8;
    public const int HeaderSize = 22;
    public const byte Version = 2;

    private const int TailHeaderSize = HeaderSize - TimeSize;
    private const byte NullFlag = 1;
    private const byte NeverDieFlag = 2;

    /// <summary>Everything but the written-at time, which the write script puts in front.</summary>
    public static ReadOnlyMemory<byte> EncodeTail<T>(T value, long ttlMs, bool neverDie, uint typeTag, ICacheSerializer serializer)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var header = buffer.GetSpan(TailHeaderSize);
        header[0] = Version;
        header[1] = (byte)((value is null ? NullFlag : 0) | (neverDie ? NeverDieFlag : 0));
        BinaryPrimitives.WriteInt64BigEndian(header[2..], ttlMs);
        BinaryPrimitives.WriteUInt32BigEndian(header[10..], typeTag);
        buffer.Advance(TailHeaderSize);
        if (value is not null)
        {
            serializer.Serialize(value, buffer);
        }

        return buffer.WrittenMemory;
    }

    /// <summary>Reads the header; false when the bytes are not an envelope of this version (corrupt or foreign).</summary>
    public static bool TryRead(ReadOnlyMemory<byte> raw, out EnvelopeHeader header)
    {
        var span = raw.Span;
        if (span.Length < HeaderSize || span[TimeSize] != Version)
        {
            header = default;
            return false;
        }

        var flags = span[TimeSize + 1];
        header = new EnvelopeHeader(
            BinaryPrimitives.ReadInt64BigEndian(span),
            (flags & NullFlag) != 0,
            (flags & NeverDieFlag) != 0,
            BinaryPrimitives.ReadInt64BigEndian(span[(TimeSize + 2)..]),
            BinaryPrimitives.ReadUInt32BigEndian(span[(TimeSize + 10)..]),
            raw[HeaderSize..]);
        return (flags & NullFlag) == 0 || header.Payload.IsEmpty;
    }

    /// <summary>
    /// Whether a reader may return the entry: always when the writer's lifetime is no longer than the reader's and
    /// not never-die for a plain reader (the rule of <c>Binding.TrustsWriter</c>); otherwise only while it is younger
    /// than the reader's TTL, which needs Redis' current time (<paramref name="nowMs"/>).
    /// </summary>
    public static Usability Check(in EnvelopeHeader header, long readerTtlMs, bool readerNeverDie, long? nowMs)
    {
        var writerTtl = header.TtlMs == 0 ? long.MaxValue : header.TtlMs;
        var readerTtl = readerTtlMs == 0 ? long.MaxValue : readerTtlMs;
        if (writerTtl <= readerTtl && (!header.NeverDie || readerNeverDie))
        {
            return Usability.Usable;
        }

        if (nowMs is not { } now)
        {
            return Usability.NeedsTime;
        }

        return header.AgeMs(now) < readerTtl ? Usability.Usable : Usability.TooOld;
    }

    /// <summary>The TTL of a wrapper in whole milliseconds (at least 1); 0 when entries never expire.</summary>
    public static long TtlMs(TimeSpan ttl)
        => ttl == Timeout.InfiniteTimeSpan ? 0 : Math.Max(1, (long)Math.Ceiling(ttl.TotalMilliseconds));
}

/// <summary>The decoded header of a cached value.</summary>
internal readonly record struct EnvelopeHeader(long WrittenAtMs, bool IsNull, bool NeverDie, long TtlMs, uint TypeTag, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Age by Redis' clock; a clock that went back (failover) counts as age 0.</summary>
    public long AgeMs(long nowMs) => Math.Max(0, nowMs - WrittenAtMs);
}

/// <summary>What a reader may do with an entry.</summary>
internal enum Usability
{
    Usable,
    NeedsTime,
    TooOld,
}
