using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>AddCachifyRedis registers its backend for static UseRedis() wrappers (global state), so these run alone.</summary>
[Collection(nameof(GlobalRedisSetup))]
public sealed class DependencyInjectionTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    [RedisFact]
    public async Task AddCachifyRedis_ConnectionString_RegistersTheRedisBackendAndAConnection()
    {
        using var provider = new ServiceCollection()
            .AddCachifyRedis(Fixture.EndPoint, new RedisCacheOptions { KeyPrefix = Prefix })
            .BuildServiceProvider();
        var cachify = provider.GetRequiredService<ICachify>();

        var f = cachify.Wrap((int x) => Task.FromResult(x * 2)).Named("di.double").NoSelf();
        Assert.Equal(4, await f.Invoke(2));
        Assert.IsType<RedisCacheBackend>(cachify.Backend);
        Assert.Contains(ValueKeyText("di.double:2"), Keys());
        Assert.NotNull(provider.GetService<IConnectionMultiplexer>());
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task AddCachifyRedis_ConnectionStringWhileRedisIsDown_AppStartsAndCallsRunUncached()
    {
        // Nothing listens on port 1. A cache must not keep the app from starting: abortConnect defaults to false here.
        using var provider = new ServiceCollection().AddCachifyRedis("127.0.0.1:1,connectTimeout=500").BuildServiceProvider();
        var cachify = provider.GetRequiredService<ICachify>();
        var executions = 0;
        var f = cachify.Wrap((int x) =>
        {
            Interlocked.Increment(ref executions);
            return Task.FromResult(x * 2);
        }).Named("di.down").NoSelf();

        Assert.Equal(4, await f.Invoke(2));
        Assert.Equal(4, await f.Invoke(2));
        Assert.Equal(2, executions); // Silent: run, not cached, while Redis is away
        Assert.False(provider.GetRequiredService<IConnectionMultiplexer>().IsConnected);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void AddCachifyRedis_ConnectionStringSetsAbortConnect_IsHonoured()
    {
        using var provider = new ServiceCollection().AddCachifyRedis("127.0.0.1:1,connectTimeout=200, AbortConnect = true").BuildServiceProvider();

        Assert.Throws<RedisConnectionException>(() => provider.GetRequiredService<ICachify>());
    }

    [RedisFact]
    public void AddCachifyRedis_UsesTheAppsMultiplexerClockAndLogging_AndWinsOverAddCachify()
    {
        var logs = new ListLoggerFactory();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var provider = new ServiceCollection()
            .AddSingleton<IConnectionMultiplexer>(Fixture.Connection)
            .AddSingleton<TimeProvider>(time)
            .AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(logs)
            .AddCachify(o => o.DefaultTtl = TimeSpan.FromMinutes(3))
            .AddCachifyRedis(new RedisCacheOptions { KeyPrefix = Prefix })
            .BuildServiceProvider();
        var cachify = provider.GetRequiredService<ICachify>();

        var backend = Assert.IsType<RedisCacheBackend>(cachify.Backend);
        Assert.Same(Fixture.Connection, backend.Connection);
        Assert.Same(time, backend.Options.TimeProvider);
        Assert.Same(logs, backend.Options.LoggerFactory);
        Assert.Equal(TimeSpan.FromMinutes(3), cachify.DefaultTtl);
        Assert.Single(new ServiceCollection().AddCachify().AddCachifyRedis(), d => d.ServiceType == typeof(ICacheBackend));
    }

    [RedisFact]
    public void AddCachifyRedis_WithoutMultiplexer_FailsWithAClearMessageWhenResolved()
    {
        using var provider = new ServiceCollection().AddCachifyRedis().BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<ICachify>());
        Assert.Contains("IConnectionMultiplexer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddCachifyRedis_InvalidOptionsOrConnectionString_ThrowAtRegistration()
    {
        var services = new ServiceCollection();
        Assert.Throws<ArgumentException>(() => services.AddCachifyRedis(new RedisCacheOptions { KeyPrefix = "has space" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => services.AddCachifyRedis(new RedisCacheOptions { LockTimeout = TimeSpan.Zero }));
        Assert.Equal("connectionString", Assert.Throws<ArgumentException>(() => services.AddCachifyRedis("localhost,notanoption=1")).ParamName);
        Assert.Throws<ArgumentNullException>(() => services.AddCachifyRedis((string)null!));
        Assert.Empty(services);
    }

    /// <summary>A scoped service of the kind that wraps in its constructor (the pattern that does not work).</summary>
    public sealed class ScopedCatalog
    {
        public ScopedCatalog(ICachify cachify) => Page = cachify.Wrap((int page) => GetPageAsync(page));

        public AsyncCachedFunc<int, string> Page { get; }

        public Task<string> GetPageAsync(int page) => Task.FromResult($"page {page} of {GetHashCode()}");

        /// <summary>A result that cannot round-trip: get-only, no constructor parameter.</summary>
        public Task<Opaque> GetOpaqueAsync(int page, CancellationToken cancellationToken) => Task.FromResult(new Opaque());
    }

    public sealed class Opaque
    {
        public int Value { get; } = 42;
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public async Task Wrap_InScopedServiceOnRedis_RefusalNamesTheLambdaAndPointsToAddCachedFunc()
    {
        await using var provider = new ServiceCollection()
            .AddCachifyRedis(Fixture.EndPoint, new RedisCacheOptions { KeyPrefix = Prefix })
            .AddScoped<ScopedCatalog>()
            .BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        var catalog = scope.ServiceProvider.GetRequiredService<ScopedCatalog>();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => catalog.Page.Invoke(1));
        Assert.Contains("DependencyInjectionTests+ScopedCatalog.ctor.lambda", error.Message, StringComparison.Ordinal);
        Assert.Contains("Where it is wrapped, call .NoSelf()", error.Message, StringComparison.Ordinal);
        Assert.Contains("services.AddCachedFunc<TService, ...>", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("DisplayClass", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".Backend(", error.Message, StringComparison.Ordinal);
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public async Task AddCachedFunc_ResultRedisRefuses_FailsAtStartNamingTheRegistration()
    {
        await using var provider = new ServiceCollection()
            .AddCachifyRedis(Fixture.EndPoint, new RedisCacheOptions { KeyPrefix = Prefix })
            .AddScoped<ScopedCatalog>()
            .AddCachedFunc<ScopedCatalog, int, Opaque>((catalog, page, ct) => catalog.GetOpaqueAsync(page, ct))
            .BuildServiceProvider();

#pragma warning disable SYSLIB0066 // what a host runs at start (ValidateOnStart); the asynchronous validator runs the same checks
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
#pragma warning restore SYSLIB0066
        Assert.Contains("AddCachedFunc<DependencyInjectionTests+ScopedCatalog, Int32, DependencyInjectionTests+Opaque>((catalog, page, ct) => catalog.GetOpaqueAsync(page, ct)) is refused", error.Message, StringComparison.Ordinal);
        Assert.Contains("ScopedCatalog.GetOpaqueAsync", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".Backend(", error.Message, StringComparison.Ordinal);
    }
}
