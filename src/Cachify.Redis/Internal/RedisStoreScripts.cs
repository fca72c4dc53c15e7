namespace CachifyNet.Redis.Internal;

/// <summary>
/// The Lua scripts of <see cref="RedisStoreLock"/>. Each touches the keys of one entry only (the value <c>{K}</c> and its
/// lock <c>{K}:lock</c> share one hash tag, so one Redis Cluster slot), uses only GET, SET, PEXPIRE and DEL, and returns
/// an integer, so it runs alike on Redis and on Garnet (with <c>--lua</c>). StackExchange.Redis sends them by SHA
/// (EVALSHA) once known, and again in full after a server restart.
/// </summary>
internal static class RedisStoreScripts
{
    /// <summary>Extends the lock (KEYS[1]) if still owned. ARGV: owner, lease ms. Returns 1 if extended.</summary>
    public const string Renew = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    /// <summary>
    /// Stores the value (KEYS[1]) and releases the lock (KEYS[2]), only while the owner still holds it (Remove deletes the
    /// lock, so a result computed before it is not stored). ARGV: owner, value, PX ms (0 = none). Returns 1 if stored.
    /// </summary>
    public const string Commit = """
        if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
        if ARGV[3] == '0' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
        redis.call('DEL', KEYS[2])
        return 1
        """;

    /// <summary>Deletes the lock (KEYS[1]) if still owned. ARGV: owner. Returns 1 if released.</summary>
    public const string Release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;
}
