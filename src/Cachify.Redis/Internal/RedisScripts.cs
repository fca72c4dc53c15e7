using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// The Lua scripts of the Redis backend. Each touches the keys of one entry only (value, lock and wait marker share
/// one hash tag, so one Redis Cluster slot). StackExchange.Redis sends them by SHA (EVALSHA) once known, and again
/// in full after a server restart.
/// </summary>
/// <remarks>
/// Keys of an entry: KEYS[1] the value, KEYS[2] its lock (token of the owner, PX = lock timeout), KEYS[3] the wait
/// marker, set by a process that found the lock taken, so the owner publishes a notification only when somebody waits.
/// Times are Redis' own (TIME), in ms since the Unix epoch.
/// </remarks>
internal static class RedisScripts
{
    private const string Now = "local function now() local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000) end\n";

    /// <summary>
    /// A time in ms as 8 big-endian bytes and back, by arithmetic (exact below 2^53 ms). Not <c>struct.pack('&gt;i8')</c>:
    /// Garnet's <c>struct</c> writes and reads 8-byte integers wrongly, which made every entry look written in the
    /// future there (never-die refreshes never came due). The bytes are the same as Redis' <c>struct.pack</c> wrote.
    /// </summary>
    private const string Time8 = """
        local function pack8(n) local b = {} for i = 8, 1, -1 do b[i] = string.char(n % 256) n = math.floor(n / 256) end return table.concat(b) end
        local function unpack8(v) local n = 0 for i = 1, 8 do n = n * 256 + string.byte(v, i) end return n end

        """;

    /// <summary>
    /// GET that never fails the script: a key holding another Redis type (WRONGTYPE, written by someone else) reads as
    /// a short string that is no envelope, so the caller treats it as an unreadable value (a miss) and overwrites it.
    /// </summary>
    private const string Read = "local function read(k) local v = redis.pcall('GET', k) if type(v) == 'table' and v.err then return 'not a string' end return v end\n";

    /// <summary>
    /// Reads or locks an entry. ARGV: token, lock ms, mode (0 lock first, 1 value first, 2 lock only).
    /// Returns {status, value, n}: status 2 = value found (n = now), 1 = lock taken (value as it is, n = now),
    /// 0 = lock held by another owner (n = its remaining ms).
    /// </summary>
    public const string Acquire = Now + Read + """
        if ARGV[3] == '1' then
          local v = read(KEYS[1])
          if v then return {2, v, now()} end
        end
        if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
          if ARGV[3] == '2' then return {1, false, 0} end
          return {1, read(KEYS[1]), now()}
        end
        redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
        return {0, false, redis.call('PTTL', KEYS[2])}
        """;

    /// <summary>
    /// The owner's write, only while it still owns the lock (Invalidate removes the lock, so a result computed before
    /// it is not stored). ARGV: token, envelope without its time, PX ms (0 = none), channel, message. Returns 1 if stored.
    /// </summary>
    public const string Commit = Now + Time8 + """
        if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
        local data = pack8(now()) .. ARGV[2]
        if ARGV[3] == '0' then redis.call('SET', KEYS[1], data) else redis.call('SET', KEYS[1], data, 'PX', ARGV[3]) end
        redis.call('DEL', KEYS[2])
        if redis.call('DEL', KEYS[3]) == 1 then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
        return 1
        """;

    /// <summary>
    /// Releases the lock if still owned, optionally extending the value's PX to at least ARGV[2] ms (0 = no change;
    /// used after a failed never-die refresh). ARGV: token, extend ms, channel, message.
    /// </summary>
    public const string Release = """
        if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[2])
        if ARGV[2] ~= '0' then
          local p = redis.call('PTTL', KEYS[1])
          if p >= 0 and p < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        end
        if redis.call('DEL', KEYS[3]) == 1 then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
        return 1
        """;

    /// <summary>Extends the lock (KEYS[1]) if still owned. ARGV: token, lock ms. Returns 1 if extended.</summary>
    public const string Renew = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    /// <summary>Reads the value (KEYS[1]) with Redis' time, for readers that must check an entry's age. Returns {value, now}.</summary>
    public const string ReadWithTime = Now + Read + """
        return {read(KEYS[1]), now()}
        """;

    /// <summary>
    /// A never-die refresh's check, atomic: is the entry gone, still fresh (refreshed by another process), or due, and
    /// then is the lock free? ARGV: token, lock ms, TTL ms. Returns {status, age}: 0 gone, 1 fresh, 2 lock taken, 3 busy.
    /// </summary>
    public const string Refresh = Now + Read + Time8 + """
        local v = read(KEYS[1])
        if not v then return {0, 0} end
        local age = now() - (string.len(v) >= 8 and unpack8(v) or 0)
        if age < tonumber(ARGV[3]) then return {1, age} end
        if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, age} end
        return {3, age}
        """;

    /// <summary>Removes an entry and its lock, waking processes that wait for it. ARGV: channel, message.</summary>
    public const string Invalidate = """
        redis.call('UNLINK', KEYS[1], KEYS[2])
        if redis.call('DEL', KEYS[3]) == 1 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
        return 1
        """;

    public const int Gone = 0;
    public const int Fresh = 1;
    public const int Taken = 2;
    public const int Busy = 3;
}

/// <summary>How <see cref="RedisScripts.Acquire"/> treats an existing value.</summary>
internal enum AcquireMode
{
    /// <summary>Take the lock; return the value as it is (to re-check it under the lock).</summary>
    LockFirst = 0,

    /// <summary>Return the value if there is one, else take the lock.</summary>
    ValueFirst = 1,

    /// <summary>Take the lock; ignore the value (skip-cache calls).</summary>
    LockOnly = 2,
}

/// <summary>The reply of <see cref="RedisScripts.Acquire"/>.</summary>
internal readonly struct AcquireReply
{
    public const int Busy = 0;
    public const int Taken = 1;
    public const int Found = 2;

    private AcquireReply(int status, RedisValue value, long number)
    {
        Status = status;
        Value = value;
        Number = number;
    }

    public int Status { get; }

    /// <summary>The value's bytes (null when absent).</summary>
    public RedisValue Value { get; }

    /// <summary>Redis' time in ms (Found, Taken) or the lock's remaining ms (Busy).</summary>
    public long Number { get; }

    public static AcquireReply Parse(RedisResult result)
    {
        var items = (RedisResult[])result!;
        return new AcquireReply((int)items[0], (RedisValue)items[1], (long)items[2]);
    }
}
