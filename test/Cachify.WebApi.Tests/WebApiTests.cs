using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.WebApi.Tests;

/// <summary>
/// The sample API in-process (WebApplicationFactory): cached endpoint, skip-cache, invalidate, metrics. Each test
/// gets its own app on a fake clock, which drives the slow service's delay, its timestamps and Cachify's TTLs.
/// </summary>
public sealed class WebApiTests(WebApplicationFactory<Program> factory) : IClassFixture<WebApplicationFactory<Program>>, IDisposable
{
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(500);

    // Each test's app seeds a catalog database of its own: apps of tests running at once created the same default
    // catalog.db and raced in EnsureCreated ("table Products already exists", a clean-clone CI run).
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("cachify-webapi-weather-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Forecast_ConcurrentRequestsForOneCity_ComputeOnceAndAreServedFromTheCache()
    {
        const int Requests = 20;
        var clock = new ObservedClock(Delay);
        var app = App(clock, Delay);
        using var client = app.CreateClient();
        var service = app.Services.GetRequiredService<WeatherService>();
        using var joins = new JoinCounter("weather.forecast", Requests - 1);

        // The computation waits on the fake clock until every other request has joined it.
        var requests = Enumerable.Range(0, Requests).Select(_ => client.GetFromJsonAsync<Forecast>("/forecast/oslo")).ToArray();
        await clock.DelayStarted.Within("the computation started its delay");
        await joins.Reached.Within($"{Requests - 1} requests joined the running computation");
        Assert.All(requests, r => Assert.False(r.IsCompleted));
        clock.Advance(Delay);

        var responses = await Task.WhenAll(requests).Within("every request got the forecast");
        var again = await client.GetFromJsonAsync<Forecast>("/forecast/oslo");

        Assert.Equal(1, service.Calls);
        Assert.All(responses, r => Assert.Equal(again, r));
    }

    [Fact]
    public async Task Refresh_RecomputesAndInvalidate_Removes()
    {
        var clock = new ObservedClock(TimeSpan.Zero);
        var app = App(clock, TimeSpan.Zero);
        using var client = app.CreateClient();
        var service = app.Services.GetRequiredService<WeatherService>();
        var start = clock.GetUtcNow();
        var first = await client.GetFromJsonAsync<Forecast>("/forecast/lima");
        Assert.Equal(start, first!.ComputedAt);
        var before = service.Calls;

        clock.Advance(TimeSpan.FromSeconds(1)); // within the 30 s TTL: only the refresh recomputes
        using var refreshed = await client.PostAsync("/forecast/lima/refresh", content: null);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var afterRefresh = await client.GetFromJsonAsync<Forecast>("/forecast/lima");
        Assert.Equal(before + 1, service.Calls);
        Assert.Equal(start + TimeSpan.FromSeconds(1), afterRefresh!.ComputedAt); // the value the refresh computed, now served
        Assert.Equal(afterRefresh, await refreshed.Content.ReadFromJsonAsync<Forecast>());

        using var deleted = await client.DeleteAsync("/forecast/lima");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await client.GetFromJsonAsync<Forecast>("/forecast/lima");
        Assert.Equal(before + 2, service.Calls);
    }

    [Fact]
    public async Task Metrics_ExposeCachifyInstrumentsInPrometheusFormat()
    {
        var app = App(new ObservedClock(TimeSpan.Zero), TimeSpan.Zero);
        using var client = app.CreateClient();
        await client.GetFromJsonAsync<Forecast>("/forecast/rome");
        await client.GetFromJsonAsync<Forecast>("/forecast/rome");

        var text = await client.GetStringAsync("/metrics");

        Assert.Contains("cachify_hits", text, StringComparison.Ordinal);
        Assert.Contains("cachify_executions", text, StringComparison.Ordinal);
        Assert.Contains("cachify_function=\"weather.forecast\"", text, StringComparison.Ordinal);
    }

    /// <summary>The sample app (disposed with the fixture) on <paramref name="clock"/>, its service taking <paramref name="delay"/>.</summary>
    private WebApplicationFactory<Program> App(TimeProvider clock, TimeSpan delay)
        => factory.WithWebHostBuilder(web => web
            .UseSetting("ConnectionStrings:Catalog", $"Data Source={Path.Combine(_directory.FullName, "catalog.db")}")
            .UseSetting("Weather:DelayMilliseconds", ((int)delay.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture))
            .ConfigureTestServices(services => services.AddSingleton(clock)));

    /// <summary>A fake clock that tells when a timer of <paramref name="delay"/> (the slow service's) has been created.</summary>
    private sealed class ObservedClock(TimeSpan delay) : TimeProvider
    {
        private readonly FakeTimeProvider _fake = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        private readonly TaskCompletionSource _delayStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task DelayStarted => _delayStarted.Task;

        public override long TimestampFrequency => _fake.TimestampFrequency;

        public override DateTimeOffset GetUtcNow() => _fake.GetUtcNow();

        public override long GetTimestamp() => _fake.GetTimestamp();

        public void Advance(TimeSpan by) => _fake.Advance(by);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = _fake.CreateTimer(callback, state, dueTime, period);
            if (dueTime == delay && period == Timeout.InfiniteTimeSpan)
            {
                _delayStarted.TrySetResult();
            }

            return timer;
        }
    }
}
