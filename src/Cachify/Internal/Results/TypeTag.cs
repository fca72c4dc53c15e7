using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CachifyNet.Internal;

/// <summary>The tag of a result type, so a payload written for another type (a changed deployment) reads as a miss.</summary>
internal static class TypeTag<T>
{
    public static readonly uint Value = Compute();

    private static uint Compute()
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(TypeNames.Full(typeof(T))));
        return BinaryPrimitives.ReadUInt32BigEndian(hash);
    }
}
