using Jobs.Api;

return await NodeHost.RunAsync(args, NodeKind.Seed);
