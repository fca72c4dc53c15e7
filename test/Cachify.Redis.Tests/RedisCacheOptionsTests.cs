using CachifyNet.Stores;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>Defaults and validation; a backend validates its options before it talks to Redis.</summary>
public sealed class RedisCacheOptionsTests : IDisposable
{
    // Nothing listens on port 1: the multiplexer never connects, which validation does not need.
    private readonly ConnectionMultiplexer _offline = ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=100");

    public void Dispose() => _offline.Dispose();

    [Fact]
    public void Defaults_MatchTheDocumentation()
    {
        var options = new RedisCacheOptions();

        Assert.Equal("cachify", options.KeyPrefix);
        Assert.Equal(TimeSpan.FromSeconds(10), options.LockTimeout);
        Assert.Equal(TimeSpan.FromSeconds(20), options.LockWaitTimeout);
        Assert.Equal(RedisErrorMode.Silent, options.OnError);
        Assert.Same(SystemTextJsonCacheSerializer.Default, options.Serializer);
        Assert.Same(TimeProvider.System, options.TimeProvider);
        Assert.Null(options.LoggerFactory);
    }

    [Theory]
    [InlineData(0, null, "RedisCacheOptions.LocalCache.SizeLimit")]
    [InlineData(10, -5, "RedisCacheOptions.LocalCache.MaxLifetime")]
    public void LocalCache_Invalid_IsRefusedNamingTheRedisOption(int sizeLimit, int? maxLifetimeMs, string named)
    {
        var options = new RedisCacheOptions
        {
            LocalCache = new LocalCacheOptions { SizeLimit = sizeLimit, MaxLifetime = maxLifetimeMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null },
        };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new RedisCacheBackend(_offline, options));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SerializerAndTimeProvider_SetToNull_AreTheDefaults()
    {
        var options = new RedisCacheOptions { Serializer = null, TimeProvider = null };

        Assert.Same(SystemTextJsonCacheSerializer.Default, options.Serializer);
        Assert.Same(TimeProvider.System, options.TimeProvider);
        using var backend = new RedisCacheBackend(_offline, options);
        Assert.Same(SystemTextJsonCacheSerializer.Default, backend.Options.Serializer);
        Assert.Same(TimeProvider.System, backend.Options.TimeProvider);
    }

    [Fact]
    public void LockWaitTimeout_DefaultsToTwiceTheLockTimeout_UnlessSet()
    {
        Assert.Equal(TimeSpan.FromSeconds(6), new RedisCacheOptions { LockTimeout = TimeSpan.FromSeconds(3) }.LockWaitTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), new RedisCacheOptions { LockTimeout = TimeSpan.FromSeconds(3), LockWaitTimeout = TimeSpan.FromSeconds(1) }.LockWaitTimeout);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(24)]
    public void LockTimeout_OverHalfADay_IsAcceptedAndTheDefaultWaitIsCappedAtOneDay(int hours)
    {
        // Twice the lock timeout would pass the 1-day limit of LockWaitTimeout: the default stops at that limit.
        var options = new RedisCacheOptions { LockTimeout = TimeSpan.FromHours(hours) };

        Assert.Equal(TimeSpan.FromDays(1), options.LockWaitTimeout);
        using var backend = new RedisCacheBackend(_offline, options);
        Assert.Equal(TimeSpan.FromHours(hours), backend.Options.LockTimeout);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData(long.MinValue)]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(long.MaxValue)]
    public void LockWaitTimeout_UnsetWithLockTimeoutOutOfRange_ReadsWithoutOverflowAndValidationNamesLockTimeout(long lockTicks)
    {
        // Twice TimeSpan.MinValue overflows: the getter must not throw, so the error names the option that is wrong.
        var options = new RedisCacheOptions { LockTimeout = TimeSpan.FromTicks(lockTicks) };

        Assert.True(options.LockWaitTimeout <= TimeSpan.FromDays(1), $"LockWaitTimeout was {options.LockWaitTimeout}");
        Assert.Contains("LockTimeout must be", Assert.Throws<ArgumentOutOfRangeException>(() => new RedisCacheBackend(_offline, options)).Message, StringComparison.Ordinal);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("")]
    [InlineData("my app")]
    [InlineData("app:lock")]
    [InlineData("{app}")]
    [InlineData("app*")]
    [InlineData("app?")]
    [InlineData("app[1]")]
    [InlineData("app\\x")]
    [InlineData("tab\there")]
    public void KeyPrefix_Invalid_ThrowsNamingTheOptionAndTheRule(string prefix)
    {
        var error = Assert.Throws<ArgumentException>(() => new RedisCacheBackend(_offline, new RedisCacheOptions { KeyPrefix = prefix }));
        Assert.Equal("options", error.ParamName);
        Assert.Contains("RedisCacheOptions.KeyPrefix", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"myapp\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeyPrefix_Valid_IsAccepted()
    {
        using var backend = new RedisCacheBackend(_offline, new RedisCacheOptions { KeyPrefix = "my-app.v2_prod" });
        Assert.Equal("my-app.v2_prod", backend.Options.KeyPrefix);
        Assert.Same(_offline, backend.Connection);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Timeouts_OutOfRange_Throw()
    {
        Assert.Contains("LockTimeout", Assert.Throws<ArgumentOutOfRangeException>(() => new RedisCacheBackend(_offline, new RedisCacheOptions { LockTimeout = TimeSpan.FromMilliseconds(99) })).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RedisCacheBackend(_offline, new RedisCacheOptions { LockTimeout = TimeSpan.FromDays(2) }));
        Assert.Contains("LockWaitTimeout is set", Assert.Throws<ArgumentOutOfRangeException>(() => new RedisCacheBackend(_offline, new RedisCacheOptions { LockWaitTimeout = TimeSpan.Zero })).Message, StringComparison.Ordinal);
        Assert.Contains("LockWaitTimeout is set", Assert.Throws<ArgumentOutOfRangeException>(() => new RedisCacheBackend(_offline, new RedisCacheOptions { LockTimeout = TimeSpan.FromHours(1), LockWaitTimeout = TimeSpan.FromHours(25) })).Message, StringComparison.Ordinal);
        Assert.Contains("LockTimeout must be", Assert.Throws<ArgumentOutOfRangeException>(() => new RedisCacheBackend(_offline, new RedisCacheOptions { LockTimeout = TimeSpan.MaxValue })).Message, StringComparison.Ordinal);
        Assert.Contains("OnError", Assert.Throws<ArgumentOutOfRangeException>(() => new RedisCacheBackend(_offline, new RedisCacheOptions { OnError = (RedisErrorMode)7 })).Message, StringComparison.Ordinal);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Connection_Null_Throws()
    {
        Assert.Equal("connection", Assert.Throws<ArgumentNullException>(() => new RedisCacheBackend(null!)).ParamName);
    }
}
