using System.Buffers.Binary;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// The messages of <see cref="RedisBackplane"/> on its channel. The first byte is the kind: a notice is <c>1</c> and the
/// notice's bytes; a heartbeat is <c>2</c>, the sending backplane's 16-byte id, its number and the number of the last
/// heartbeat Redis had acknowledged (both 8 bytes, little-endian). Anything else is not ours and is ignored.
/// </summary>
internal static class BackplaneFrame
{
    public const int HeartbeatLength = 1 + 16 + 8 + 8;

    public enum Kind : byte
    {
        Unknown = 0,
        Notice = 1,
        Heartbeat = 2,
    }

    public static byte[] Notice(ReadOnlySpan<byte> notice)
    {
        var frame = new byte[notice.Length + 1];
        frame[0] = (byte)Kind.Notice;
        notice.CopyTo(frame.AsSpan(1));
        return frame;
    }

    public static byte[] Heartbeat(Guid sender, long number, long acked)
    {
        var frame = new byte[HeartbeatLength];
        frame[0] = (byte)Kind.Heartbeat;
        sender.TryWriteBytes(frame.AsSpan(1, 16));
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(17, 8), number);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(25, 8), acked);
        return frame;
    }

    public static ReadOnlySpan<byte> NoticeBody(ReadOnlySpan<byte> frame) => frame[1..];

    /// <summary>The frame's kind; for a heartbeat, also its sender, number and last acknowledged number.</summary>
    public static Kind Read(ReadOnlySpan<byte> frame, out Guid sender, out long number, out long acked)
    {
        sender = default;
        number = acked = 0;
        if (frame.IsEmpty)
        {
            return Kind.Unknown;
        }

        switch ((Kind)frame[0])
        {
            case Kind.Notice:
                return Kind.Notice;
            case Kind.Heartbeat when frame.Length == HeartbeatLength:
                sender = new Guid(frame.Slice(1, 16));
                number = BinaryPrimitives.ReadInt64LittleEndian(frame.Slice(17, 8));
                acked = BinaryPrimitives.ReadInt64LittleEndian(frame.Slice(25, 8));
                return Kind.Heartbeat;
            default:
                return Kind.Unknown;
        }
    }
}
