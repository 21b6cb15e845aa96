using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Tasks;

public sealed class TaskNamingSpec
{
    private sealed class ImageTasks
    {
        public void MakeThumbnail() { }
        public Task ResizeAsync() => Task.CompletedTask;
    }

    private sealed class HTTPTasks
    {
        public void GetURL() { }
    }

    [Fact]
    public void The_default_name_is_class_and_method_in_lower_snake_case()
    {
        Assert.Equal("tasks.add", TaskNaming.DefaultName(typeof(Jobs.Node.Tasks).GetMethod("Add")!));
        Assert.Equal("image_tasks.make_thumbnail", TaskNaming.DefaultName(typeof(ImageTasks).GetMethod("MakeThumbnail")!));
    }

    [Fact]
    public void A_trailing_async_is_dropped()
    {
        Assert.Equal("image_tasks.resize", TaskNaming.DefaultName(typeof(ImageTasks).GetMethod("ResizeAsync")!));
    }

    [Fact]
    public void Acronyms_become_one_word()
    {
        Assert.Equal("http_tasks.get_url", TaskNaming.DefaultName(typeof(HTTPTasks).GetMethod("GetURL")!));
        Assert.Equal("add2_numbers", TaskNaming.SnakeCase("Add2Numbers"));
    }
}
