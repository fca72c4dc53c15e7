using CachifyNet;
using CachifyNet.WebApi;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

// A web API that caches a slow endpoint with Cachify through dependency injection, and exposes
// Cachify's metrics (meter "Cachify") in Prometheus format at /metrics.
// Packages: Cachify, Cachify.OpenTelemetry, OpenTelemetry.Extensions.Hosting, OpenTelemetry.Exporter.Prometheus.AspNetCore (prerelease).
var builder = WebApplication.CreateBuilder(args);

builder.Services.AddCachify(options => options.DefaultTtl = TimeSpan.FromSeconds(30));
builder.Services.Configure<WeatherOptions>(builder.Configuration.GetSection("Weather"));
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<WeatherService>();
builder.Services.AddSingleton<CachedWeather>();
builder.Services.AddOpenTelemetry()
    .WithMetrics(metrics => metrics
        .AddCachifyInstrumentation()   // the meter "Cachify"; without Cachify.OpenTelemetry: .AddMeter("Cachify")
        .AddPrometheusExporter())
    .WithTracing(tracing => tracing
        .AddCachifyInstrumentation()); // a span per execution; add an exporter, e.g. .AddOtlpExporter()

var app = builder.Build();

app.MapGet("/forecast/{city}", (string city, CachedWeather weather, CancellationToken cancellationToken)
    => weather.Forecast.Invoke(city, cancellationToken));

app.MapPost("/forecast/{city}/refresh", (string city, CachedWeather weather, CancellationToken cancellationToken)
    => weather.Forecast.Invoke(city, skipCache: true, cancellationToken));

app.MapDelete("/forecast/{city}", async (string city, CachedWeather weather) =>
{
    await weather.Forecast.InvalidateAsync(city); // the key arguments only: the token is not part of the key
    return Results.NoContent();
});

app.MapPrometheusScrapingEndpoint("/metrics");

app.Run();

/// <summary>The entry point, visible to the integration tests (WebApplicationFactory).</summary>
public partial class Program;
