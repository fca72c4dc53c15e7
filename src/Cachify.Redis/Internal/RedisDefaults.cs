using CachifyNet.Internal;

namespace CachifyNet.Redis.Internal;

/// <summary>The defaults of wrappers made with <c>UseRedis()</c>: the global TTL and the backend of <see cref="CachifyRedis.Configure"/>.</summary>
internal sealed class RedisDefaults : WrapDefaults
{
    public static RedisDefaults Instance { get; } = new();

    public override TimeSpan Ttl => Cachify.DefaultTtl;

    public override ICacheBackend Backend => CachifyRedis.Backend;
}
