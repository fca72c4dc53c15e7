using CachifyNet;

// A user's file: its own namespace, implicit usings and `using CachifyNet;`. That this compiles is the test.
namespace MyCompany.Orders.Services;

public class UserNamespaceTests
{
    [Fact]
    public async Task Wrap_CompilesInUserCode_WithUsingCachifyNet()
    {
        var repo = new OrderRepository();
        var getOrder = Cachify.Wrap((int id) => repo.GetOrderAsync(id)).Ttl(TimeSpan.FromMinutes(5)).NeverDie();
        var total = Cachify.Wrap<int, decimal>(repo.Total);

        Assert.Equal("order-7", await getOrder.Invoke(7));
        Assert.Equal("order-7", await getOrder.Invoke(7, skipCache: true));
        Assert.Equal(70m, total.Invoke(7));
        getOrder.Clear();
    }

    private sealed class OrderRepository
    {
        public Task<string> GetOrderAsync(int id) => Task.FromResult($"order-{id}");

        public decimal Total(int id) => id * 10m;
    }
}
