namespace CachifyNet.Redis;

/// <summary>What a Redis backend does when Redis fails (down, timing out, refusing a command).</summary>
public enum RedisErrorMode
{
    /// <summary>
    /// The call still succeeds: the function runs and its result is returned without being cached. The error is
    /// logged and counted in the <c>cachify.backend.errors</c> metric. This is the default: the cache is an
    /// optimisation, and an application keeps working while Redis is away. <c>Invalidate</c> and <c>Clear</c> are
    /// the exception: they are orders to stop serving values, so a failed one throws a <see cref="CachifyException"/>
    /// in this mode too, instead of returning as if entries had been removed.
    /// </summary>
    Silent = 0,

    /// <summary>The caller receives a <see cref="CachifyException"/> whose inner exception is the Redis error.</summary>
    Throw = 1,
}
