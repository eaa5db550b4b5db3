"""主动公开目录发布: documents, 公开属性认定, 三审三校, privacy guard, channels, gazette."""
