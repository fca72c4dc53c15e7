using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.WebApi.Tests;

/// <summary>
/// The sample's configuration switches: the memory level's size limit (<c>Cachify:LocalCache:SizeLimit</c>) and the
/// Redis mode (<c>Cachify:Backend=Redis</c>, <c>Cachify:Redis</c>), where instances of the app on one Redis stay
/// coherent: what one refreshes or invalidates, the other answers next.
/// </summary>
public sealed class ModeTests(WebApplicationFactory<Program> factory) : IClassFixture<WebApplicationFactory<Program>>, IDisposable
{
    // Each app seeds a catalog database of the test's own, as in WebApiTests: never the shared default catalog.db.
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("cachify-webapi-mode-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public void MemoryMode_SizeLimitFromConfiguration_BoundsTheAppsMemoryCache()
    {
        var app = factory.WithWebHostBuilder(web => web.UseSetting("Cachify:LocalCache:SizeLimit", "123").UseSetting("ConnectionStrings:Catalog", Database));

        Assert.Equal(123, app.Services.GetRequiredService<IOptions<MemoryCacheOptions>>().Value.SizeLimit);
        Assert.IsType<MemoryCacheBackend>(app.Services.GetRequiredService<ICacheBackend>());
    }

    [Fact]
    public void MemoryMode_Default_SizeLimitOfAppSettings()
        => Assert.Equal(10_000, factory.Services.GetRequiredService<IOptions<MemoryCacheOptions>>().Value.SizeLimit);

    [Trait("Category", "Redis")]
    [Fact]
    public async Task RedisMode_TwoInstances_SeeEachOthersRefreshAndInvalidate()
    {
        using var redis = new LocalRedisServer("cachify-webapi-modes-");
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var first = App(redis.EndPoint, clock);
        var second = App(redis.EndPoint, clock);
        Assert.IsType<CachifyNet.Redis.RedisCacheBackend>(first.Services.GetRequiredService<ICacheBackend>());
        using var a = first.CreateClient();
        using var b = second.CreateClient();
        var serviceA = first.Services.GetRequiredService<WeatherService>();
        var serviceB = second.Services.GetRequiredService<WeatherService>();

        // Computed once, by A; B answers it from the shared cache.
        var original = await a.GetFromJsonAsync<Forecast>("/forecast/oslo");
        Assert.Equal(original, await b.GetFromJsonAsync<Forecast>("/forecast/oslo"));
        Assert.Equal((1, 0), (serviceA.Calls, serviceB.Calls));

        // A refreshes: B answers the new forecast (within the propagation time once B keeps local copies).
        clock.Advance(TimeSpan.FromSeconds(1));
        using var refreshed = await a.PostAsync("/forecast/oslo/refresh", content: null);
        var fresh = await refreshed.Content.ReadFromJsonAsync<Forecast>();
        Assert.Equal(original!.ComputedAt + TimeSpan.FromSeconds(1), fresh!.ComputedAt);
        await Bounded.UntilAsync(async () => await b.GetFromJsonAsync<Forecast>("/forecast/oslo") == fresh, "B answers A's refreshed forecast");
        Assert.Equal((2, 0), (serviceA.Calls, serviceB.Calls));

        // B invalidates: A computes the forecast again.
        clock.Advance(TimeSpan.FromSeconds(1));
        using var deleted = await b.DeleteAsync("/forecast/oslo");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await Bounded.UntilAsync(async () => (await a.GetFromJsonAsync<Forecast>("/forecast/oslo"))!.ComputedAt == fresh.ComputedAt + TimeSpan.FromSeconds(1), "A recomputes after B's invalidation");
        Assert.Equal((3, 0), (serviceA.Calls, serviceB.Calls));
    }

    /// <summary>An app instance on Redis and the shared fake clock, its slow service taking no time.</summary>
    private string Database => $"Data Source={Path.Combine(_directory.FullName, "catalog.db")}";

    private WebApplicationFactory<Program> App(string redis, TimeProvider clock)
        => factory.WithWebHostBuilder(web => web
            .UseSetting("ConnectionStrings:Catalog", Database)
            .UseSetting("Cachify:Backend", "Redis")
            .UseSetting("Cachify:Redis", redis)
            .UseSetting("Cachify:LocalCache:SizeLimit", "100")
            .UseSetting("Weather:DelayMilliseconds", "0")
            .ConfigureTestServices(services => services.AddSingleton(clock)));
}
