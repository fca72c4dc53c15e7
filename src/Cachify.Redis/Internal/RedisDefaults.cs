using CachifyNet.Internal;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// The defaults of a wrapper after <c>UseRedis()</c>: the backend of <see cref="CachifyRedis.Configure"/>, and the
/// default TTL of wherever the wrapper came from (the static <see cref="Cachify"/> or an <see cref="ICachify"/>).
/// </summary>
internal sealed class RedisDefaults : WrapDefaults
{
    private readonly WrapDefaults _ttlSource;

    private RedisDefaults(WrapDefaults ttlSource) => _ttlSource = ttlSource;

    public override TimeSpan Ttl => _ttlSource.Ttl;

    public override ICacheBackend Backend => CachifyRedis.Backend;

    /// <summary>Redis defaults that keep the TTL source of <paramref name="current"/>.</summary>
    public static RedisDefaults Over(WrapDefaults current) => current as RedisDefaults ?? new RedisDefaults(current);
}
