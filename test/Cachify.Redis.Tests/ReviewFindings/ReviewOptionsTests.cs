namespace CachifyNet.Redis.Tests.Review;

public sealed class ReviewOptionsTests
{
    [Fact]
    public void LockTimeoutOf13Hours_WithinTheDocumentedRange_IsAccepted()
    {
        var options = new RedisCacheOptions { LockTimeout = TimeSpan.FromHours(13) };
        var error = Record.Exception(() => RedisCacheBackend.Validate(options));
        Assert.True(error is null, error?.Message);
    }
}
