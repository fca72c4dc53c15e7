using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CachifyNet.WebApi.Tests;

/// <summary>The sample API in-process (WebApplicationFactory): cached endpoint, skip-cache, invalidate, metrics.</summary>
public sealed class WebApiTests : IClassFixture<WebApplicationFactory<Program>>
{
    private readonly WebApplicationFactory<Program> _factory;

    public WebApiTests(WebApplicationFactory<Program> factory)
        => _factory = factory.WithWebHostBuilder(web => web.UseSetting("Weather:DelayMilliseconds", "50"));

    [Fact]
    public async Task Forecast_ConcurrentRequestsForOneCity_ComputeOnceAndAreServedFromTheCache()
    {
        using var client = _factory.CreateClient();
        var service = _factory.Services.GetRequiredService<WeatherService>();
        var before = service.Calls;

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetFromJsonAsync<Forecast>("/forecast/oslo")));
        var again = await client.GetFromJsonAsync<Forecast>("/forecast/oslo");

        Assert.Equal(1, service.Calls - before);
        Assert.All(responses, r => Assert.Equal(again, r));
    }

    [Fact]
    public async Task Refresh_RecomputesAndInvalidate_Removes()
    {
        using var client = _factory.CreateClient();
        var service = _factory.Services.GetRequiredService<WeatherService>();
        var first = await client.GetFromJsonAsync<Forecast>("/forecast/lima");
        var before = service.Calls;

        using var refreshed = await client.PostAsync("/forecast/lima/refresh", content: null);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var afterRefresh = await client.GetFromJsonAsync<Forecast>("/forecast/lima");
        Assert.Equal(before + 1, service.Calls);
        Assert.True(afterRefresh!.ComputedAt >= first!.ComputedAt);

        using var deleted = await client.DeleteAsync("/forecast/lima");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await client.GetFromJsonAsync<Forecast>("/forecast/lima");
        Assert.Equal(before + 2, service.Calls);
    }

    [Fact]
    public async Task Metrics_ExposeCachifyInstrumentsInPrometheusFormat()
    {
        using var client = _factory.CreateClient();
        await client.GetFromJsonAsync<Forecast>("/forecast/rome");
        await client.GetFromJsonAsync<Forecast>("/forecast/rome");

        var text = await client.GetStringAsync("/metrics");

        Assert.Contains("cachify_hits", text, StringComparison.Ordinal);
        Assert.Contains("cachify_executions", text, StringComparison.Ordinal);
        Assert.Contains("cachify_function=\"weather.forecast\"", text, StringComparison.Ordinal);
    }
}
